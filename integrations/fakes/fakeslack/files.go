package fakeslack

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
)

// File is an uploaded file (files v2: getUploadURLExternal, upload,
// completeUploadExternal).
type File struct {
	ID, Name, Title, AltText string
	Length                   int // declared
	Content                  []byte
	Channel, ThreadTS        string // where it was shared ("" until completed)
	uploaded, completed      bool
}

// MaxFileSize is the largest upload the fake accepts (Slack: 1 GB).
const MaxFileSize = 1 << 30

// Files returns the files shared so far.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, f := range s.files {
		if f.completed {
			out = append(out, *f)
		}
	}
	return out
}

// getUploadURL answers files.getUploadURLExternal.
func (s *Server) getUploadURL(p map[string]string) apiResult {
	name := p["filename"]
	n, err := strconv.Atoi(p["length"])
	switch {
	case name == "" || p["length"] == "":
		return fail("invalid_arguments")
	case err != nil || n < 1 || n > MaxFileSize:
		return fail("invalid_length")
	case len(p["alt_txt"]) > 1000:
		return fail("invalid_arguments")
	}
	if s.files == nil {
		s.files = map[string]*File{}
	}
	id := fmt.Sprintf("F%08d", len(s.files)+1)
	s.files[id] = &File{ID: id, Name: name, AltText: p["alt_txt"], Length: n}
	return apiResult{"ok": true, "upload_url": s.URL + "/upload/" + id, "file_id": id}
}

// upload receives the bytes at an upload URL (multipart field "file", or
// a raw body), once; the size must be the one declared.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	var data []byte
	var err error
	if mt, params, perr := mime.ParseMediaType(r.Header.Get("Content-Type")); perr == nil && strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, perr := mr.NextPart()
			if perr != nil {
				err = perr
				break
			}
			if part.FormName() == "file" {
				data, err = io.ReadAll(io.LimitReader(part, MaxFileSize+1))
				break
			}
		}
	} else {
		data, err = io.ReadAll(io.LimitReader(r.Body, MaxFileSize+1))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	switch {
	case !ok:
		http.Error(w, "not found", http.StatusNotFound)
	case err != nil && err != io.EOF:
		http.Error(w, "bad upload", http.StatusBadRequest)
	case f.uploaded:
		http.Error(w, "already uploaded", http.StatusBadRequest)
	case len(data) != f.Length:
		http.Error(w, fmt.Sprintf("size mismatch: declared %d, sent %d", f.Length, len(data)), http.StatusBadRequest)
	default:
		f.Content, f.uploaded = data, true
		w.Header().Set("Content-Type", "text/plain")
		_, _ = fmt.Fprintf(w, "OK - %d", len(data))
	}
}

// completeUpload answers files.completeUploadExternal: every file
// uploaded and not completed before, the channel known, thread_ts a
// parent in it; the files appear as one message there.
func (s *Server) completeUpload(p map[string]string) apiResult {
	var list []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(p["files"]), &list); err != nil || len(list) == 0 || len(list) > 10 {
		return fail("invalid_arguments")
	}
	ch := p["channel_id"]
	if ch != "" {
		if _, ok := s.channels[ch]; !ok {
			return fail("channel_not_found")
		}
	}
	if th := p["thread_ts"]; th != "" {
		if ch == "" {
			return fail("invalid_arguments")
		}
		if parent := s.find(ch, th); parent == nil || parent.ThreadTS != "" {
			return fail("thread_not_found")
		}
	}
	for _, x := range list {
		f, ok := s.files[x.ID]
		switch {
		case !ok:
			return fail("file_not_found")
		case !f.uploaded:
			return fail("file_upload_not_complete")
		case f.completed:
			return fail("file_already_completed")
		}
	}
	var out []map[string]any
	var names []string
	for _, x := range list {
		f := s.files[x.ID]
		f.completed, f.Title, f.Channel, f.ThreadTS = true, x.Title, ch, p["thread_ts"]
		out = append(out, map[string]any{"id": f.ID, "title": f.Title})
		names = append(names, f.Name)
	}
	if ch != "" {
		s.messages[ch] = append(s.messages[ch], &Message{Channel: ch, TS: s.nextTS(), ThreadTS: p["thread_ts"],
			Text: "[files: " + strings.Join(names, ", ") + "] " + p["initial_comment"], ByBot: true})
		s.sent = append(s.sent, p["initial_comment"])
	}
	s.changedLocked()
	return apiResult{"ok": true, "files": out}
}
