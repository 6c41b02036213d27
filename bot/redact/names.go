package redact

import (
	"bytes"
	"strings"
)

// firstNames are common given names across many languages. A name is
// masked when a capitalised given name from this list is followed by a
// capitalised family name ("customer Priya Sharma reported"), or when it
// is the display name of an e-mail address ("Jane Roe" <jane@…>). Given
// names that are also ordinary capitalised words in logs (Will, May, Mark,
// Grant, Chase, Page…) are left out: a name without its cue stays.
var firstNames = func() map[string]bool {
	m := map[string]bool{}
	defer func() {
		for n := range m {
			nameStart[n[0]-'A'][n[1]-'a'] = true
		}
	}()
	for _, n := range strings.Fields(`
Aaron Abdul Abigail Adam Adrian Ahmad Ahmed Aisha Akira Alan Albert Alejandro Alexander Alexandra Alexei Alfredo Ali Alice
Alicia Alina Allison Amanda Amelia Amir Amit Amy Ana Anastasia Andrea Andreas Andrei Andrew Angela Anika Anita Ann Anna
Anne Anthony Antonio Anya Arjun Arthur Ashley Astrid Aylin Barbara Beatriz Benjamin Bernard Bianca Boris Brandon Brian
Bruno Camila Carlos Carmen Caroline Catherine Cecilia Chen Chiara Chloe Christian Christina Christopher Claire Clara
Daniel Daniela David Deborah Deepak Diana Diego Dmitri Dmitry Dominik Dorothy Duc Edward Elena Elif Elijah Elizabeth Ella
Emily Emma Emre Enrique Eric Erik Eva Evelyn Fatima Felipe Felix Fernando Fiona Florian Francesca Francisco Frank Freya
Gabriel Gabriela George Giovanni Giulia Grace Gregory Hana Hannah Hans Harper Harry Hassan Helen Helena Henrik Henry Hiroshi
Hugo Ibrahim Igor Ines Ingrid Irina Isaac Isabel Isabella Ivan Jacob James Jan Jana Jane Javier Jennifer Jessica Jiho
Joanna Johan Johannes John Jonas Jonathan Jorge Jose Joseph Joshua Juan Julia Julian Justin Kai Karen Karim Katarina
Katherine Kathryn Kenji Kevin Khalid Kim Klaus Kofi Kwame Lars Laura Lauren Layla Leila Lena Leonardo Liam Lina Linda Lisa
Lucas Lucia Luis Luka Lukas Maja Marco Margaret Maria Marie Marina Mario Marta Martin Mary Mateo Matthew Mehmet Mei Melissa
Mia Michael Michelle Miguel Mikhail Ming Mohamed Mohammed Monica Nadia Naomi Natalia Natasha Nathan Nicholas Nicola
Nikolai Nina Noah Nora Oleg Olga Oliver Olivia Omar Oscar Pablo Patricia Paul Paula Pedro Peter Philipp Pierre Pooja Priya
Rachel Rafael Rahul Raj Rajesh Ravi Rebecca Ricardo Richard Robert Roberto Rosa Ryan Sabine Samantha Samuel Sandra Sara
Sarah Sebastian Sergei Sergey Shreya Simon Sofia Sophia Sophie Stefan Stephanie Steven Sven Takeshi Tanya Tatiana Thomas
Timothy Tobias Tomas Valentina Vanessa Victor Victoria Vikram Vincent Wei Wilhelm William Xavier Yan Yara Yasmin Yuki
Yusuf Zainab Zoe`) {
		m[n] = true
	}
	return m
}()

// nameStart marks the first two letters of the given names: most
// capitalised words in logs fail it without a map lookup.
var nameStart [26][26]bool

// notFamilyName: capitalised words that follow a given name in logs
// without being a family name.
var notFamilyName = map[string]bool{
	"Error": true, "Exception": true, "Service": true, "Server": true, "Client": true, "Manager": true, "Handler": true,
	"Thread": true, "Pool": true, "Task": true, "Job": true, "Request": true, "Response": true, "Connection": true,
	"Database": true, "Cluster": true, "Node": true, "Worker": true, "Controller": true, "Factory": true, "Provider": true,
	"The": true, "And": true, "Or": true, "Is": true, "Was": true, "In": true, "On": true, "At": true, "To": true, "For": true,
}

// personName masks "Given Family": the previous token a known given
// name, this one a capitalised family name, one space between them.
func (s *scanner) personName(t span, sh *shape) {
	line := s.line
	if s.nprev == 0 || sh.digits > 0 || line[t.a] < 'A' || line[t.a] > 'Z' {
		return
	}
	p := s.prev[s.nprev-1]
	if p.b+1 != t.a || line[p.b] != ' ' || p.b-p.a < 2 || line[p.a] < 'A' || line[p.a] > 'Z' || !isLowerLetter(line[p.a+1]) ||
		!nameStart[line[p.a]-'A'][line[p.a+1]-'a'] || !firstNames[string(line[p.a:p.b])] {
		return
	}
	if p.a > 0 && (line[p.a-1] == '.' || line[p.a-1] == '_') {
		return // a dotted identifier, not prose
	}
	if n := familyName(line[t.a:t.b]); n == t.b-t.a {
		s.add(KindName, p.a, t.b)
	}
}

func isLowerLetter(c byte) bool { return c >= 'a' && c <= 'z' }

// familyName returns the length of a capitalised family name at w's start
// ("Okafor", "O'Brien", "Smith-Jones"), 0 if none.
func familyName(w []byte) int {
	if len(w) < 2 || w[0] < 'A' || w[0] > 'Z' {
		return 0
	}
	n := 1
	for n < len(w) && (isLowerLetter(w[n]) || ((w[n] == '\'' || w[n] == '-') && n+1 < len(w) && w[n+1] >= 'A' && w[n+1] <= 'Z')) {
		n++
		if w[n-1] == '\'' || w[n-1] == '-' {
			n++ // the capital after O' or Smith-
		}
	}
	if n < 2 || (n < len(w) && (isAlnum(w[n]) || w[n] == '_')) || notFamilyName[string(w[:n])] {
		return 0
	}
	return n
}

// displayName masks the name before "<local@domain>": a quoted one
// ("Jane Roe" <…>) or two or three capitalised words (Jane Roe <…>).
func displayName(s *scanner, lt int) {
	line := s.line
	gt := bytes.IndexByte(line[lt:], '>')
	if gt < 0 || bytes.IndexByte(line[lt:lt+gt], '@') < 0 {
		return
	}
	end := lt
	for end > 0 && line[end-1] == ' ' {
		end--
	}
	if end > 0 && line[end-1] == '"' {
		start := bytes.LastIndexByte(line[:end-1], '"')
		if start >= 0 && end-1-start > 1 && end-1-start <= 80 {
			s.add(KindName, start+1, end-1)
		}
		return
	}
	start, words := end, 0
	for words < 3 {
		k := start
		for k > 0 && isAlpha(line[k-1]) {
			k--
		}
		if k == start || line[k] < 'A' || line[k] > 'Z' {
			break
		}
		start, words = k, words+1
		if start == 0 || line[start-1] != ' ' {
			break
		}
		start--
	}
	for start < end && line[start] == ' ' {
		start++
	}
	if words >= 2 {
		s.add(KindName, start, end)
	}
}
