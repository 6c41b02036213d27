package redactcorpus

import (
	"fmt"
	"strings"
)

// tmpl writes one line and returns the values planted in it.
type tmpl func(v *values) (string, []string)

// shape is a family of lines; its templates are split between the halves.
type shape struct {
	name    string
	tune    []tmpl
	holdout []tmpl
}

func ts(v *values) string {
	return fmt.Sprintf("2026-11-%02dT%02d:%02d:%02d.%03dZ", 1+v.r.IntN(28), v.r.IntN(24), v.r.IntN(60), v.r.IntN(60), v.r.IntN(1000))
}

func lvl(v *values) string { return pick(v.r, []string{"ERROR", "WARN", "INFO", "error", "warn"}) }

// dsn writes a connection string of a database or broker.
func dsn(scheme, user, pw, host string, port int, path string) string {
	return fmt.Sprintf("%s://%s:%s@%s:%d%s", scheme, user, pw, host, port, path)
}

var shapes = []shape{
	{name: "json", tune: []tmpl{
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return fmt.Sprintf(`{"ts":"%s","level":"error","msg":"db login failed","user":"%s","password":"%s","db_host":"%s"}`, ts(v), u, p, h), []string{u, p, h}
		},
		func(v *values) (string, []string) {
			t, ip := v.tok(), v.addr()
			return fmt.Sprintf(`{"level":"warn","event":"token_refresh","client_ip":"%s","access_token":"%s","expires_in":3600}`, ip, t), []string{ip, t}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			m, p := v.mail(), v.pw()
			return fmt.Sprintf(`{"@timestamp":"%s","log.level":"ERROR","message":"signup rejected","email":"%s","credentials":{"secret":"%s"}}`, ts(v), m, p), []string{m, p}
		},
		func(v *values) (string, []string) {
			h, t, u := v.hst(), v.tok(), v.user()
			return fmt.Sprintf(`{"severity":"ERROR","upstream":"https://%s/v2/charge","apiKey":"%s","actor":{"login":"%s"}}`, h, t, u), []string{h, t, u}
		},
	}},
	{name: "yaml", tune: []tmpl{
		func(v *values) (string, []string) { p := v.pw(); return "    password: " + p, []string{p} },
		func(v *values) (string, []string) { t := v.tok(); return `  api_token: "` + t + `"`, []string{t} },
	}, holdout: []tmpl{
		func(v *values) (string, []string) { p := v.pw(); return "      db_password: '" + p + "'", []string{p} },
		func(v *values) (string, []string) {
			h := v.hst()
			return "  host: " + h + "  # primary", []string{h}
		},
		func(v *values) (string, []string) { t := v.tok(); return "    clientSecret: " + t, []string{t} },
	}},
	{name: "logfmt", tune: []tmpl{
		func(v *values) (string, []string) {
			u, ip, p := v.user(), v.addr(), v.pw()
			return fmt.Sprintf(`ts=%s level=error msg="login failed" user=%s src=%s password=%s`, ts(v), u, ip, p), []string{u, ip, p}
		},
		func(v *values) (string, []string) {
			h, t := v.hst(), v.tok()
			return fmt.Sprintf(`level=warn component=webhook upstream=%s token=%s status=401`, h, t), []string{h, t}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			m, ip := v.mail(), v.addr()
			return fmt.Sprintf(`time=%s lvl=info msg="password reset requested" email=%s remote_ip=%s`, ts(v), m, ip), []string{m, ip}
		},
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return fmt.Sprintf(`caller=auth.go:88 level=error err="bind failed" bind_dn=uid=%s bind_pw=%s`, u, p), []string{u, p}
		},
	}},
	{name: "env", tune: []tmpl{
		func(v *values) (string, []string) { p := v.pw(); return "export DB_PASSWORD=" + p, []string{p} },
		func(v *values) (string, []string) {
			s := v.awsSecret()
			return "AWS_SECRET_ACCESS_KEY=" + s, []string{s}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) { t := v.tok(); return "STRIPE_API_KEY=" + t, []string{t} },
		func(v *values) (string, []string) {
			p, h := v.pw(), v.hst()
			return fmt.Sprintf("REDIS_URL=redis://:%s@%s:6379/0", p, h), []string{p, h}
		},
		func(v *values) (string, []string) {
			k := v.awsKey()
			return "declare -x AWS_ACCESS_KEY_ID=\"" + k + "\"", []string{k}
		},
	}},
	{name: "http-header", tune: []tmpl{
		func(v *values) (string, []string) { t := v.tok(); return "> Authorization: Bearer " + t, []string{t} },
		func(v *values) (string, []string) {
			t := v.tok()
			return "Cookie: session_id=" + t + "; theme=dark", []string{t}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) { t := v.tok(); return "X-Api-Key: " + t, []string{t} },
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return "Proxy-Authorization: Basic " + b64(u+":"+p), []string{b64(u + ":" + p)}
		},
		func(v *values) (string, []string) {
			t := v.tok()
			return `header "X-Auth-Token" = "` + t + `"`, []string{t}
		},
	}},
	{name: "cli-flags", tune: []tmpl{
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return fmt.Sprintf("+ mysql -u %s -p%s -h %s orders", u, p, h), []string{u, p, h}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return fmt.Sprintf("curl -sS -u %s:%s https://%s/api/health", u, p, h), []string{u, p, h}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return fmt.Sprintf("exec: docker login --username %s --password %s registry.example.com", u, p), []string{u, p}
		},
		func(v *values) (string, []string) {
			t := v.tok()
			return fmt.Sprintf("running: vault login -method=token token=%s", t), []string{t}
		},
		func(v *values) (string, []string) {
			p, h := v.pw(), v.hst()
			return fmt.Sprintf("pg_dump --host=%s --password=%s --dbname=app", h, p), []string{h, p}
		},
	}},
	{name: "dsn", tune: []tmpl{
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return "connecting to " + dsn("postgres", u, p, h, 5432, "/orders?sslmode=require"), []string{u, p, h}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return "pool: " + dsn("mysql", u, p, h, 3306, "/shop"), []string{u, p, h}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return "broker url " + dsn("amqp", u, p, h, 5672, "/vhost"), []string{u, p, h}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return fmt.Sprintf("MONGO_URI=mongodb+srv://%s:%s@%s/app?retryWrites=true", u, p, h), []string{u, p, h}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return "nats: dial " + dsn("nats", u, p, h, 4222, ""), []string{u, p, h}
		},
		// Connection strings without a scheme (added after the first
		// held-out measurement showed this family missing from the tuning half).
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return fmt.Sprintf("url=jdbc:oracle:thin:%s/%s@%s:1521:ORCL", u, p, h), []string{u, p, h}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return fmt.Sprintf("Server=%s;Database=app;User Id=%s;Password=%s;Encrypt=true", h, u, p), []string{h, u, p}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return fmt.Sprintf("dsn: host=%s port=5432 dbname=app user=%s password=%s sslmode=require", h, u, p), []string{h, u, p}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return "redis: " + dsn("rediss", u, p, h, 6380, "/2"), []string{u, p, h}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return fmt.Sprintf("datasource jdbc:sqlserver://%s:1433;databaseName=crm;user=%s;password=%s", h, u, p), []string{h, u, p}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return "clickhouse " + dsn("clickhouse", u, p, h, 9000, "/events"), []string{u, p, h}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return fmt.Sprintf("oracle connect %s/%s@%s:1521/ORCLPDB1", u, p, h), []string{u, p, h}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return "es cluster " + dsn("https", u, p, h, 9200, "/_bulk"), []string{u, p, h}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return "upload to " + dsn("sftp", u, p, h, 22, "/incoming"), []string{u, p, h}
		},
	}},
	{name: "dsn-reserved-chars", tune: []tmpl{
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.rpw(), v.hst()
			return "connect " + dsn("postgresql", u, p, h, 5432, "/billing"), []string{u, p, h}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.rpw(), v.hst()
			return "amqp connection " + dsn("amqps", u, p, h, 5671, "/%2f") + " refused", []string{u, p, h}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.rpw(), v.hst()
			return "redis error on " + dsn("redis", u, p, h, 6379, "/0") + ": NOAUTH", []string{u, p, h}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.rpw(), v.hst()
			return fmt.Sprintf("DATABASE_URL=mysql://%s:%s@%s/app", u, p, h), []string{u, p, h}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.rpw(), v.hst()
			return "ftp put failed: " + dsn("ftp", u, p, h, 21, "/pub/x.csv"), []string{u, p, h}
		},
	}},
	{name: "creds-words", tune: []tmpl{
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return fmt.Sprintf("%s %s using creds %s:%s for backup job", ts(v), lvl(v), u, p), []string{u, p}
		},
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return fmt.Sprintf("retrying with credentials=%s:%s", u, p), []string{u, p}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return fmt.Sprintf("%s login %s:%s rejected by upstream", lvl(v), u, p), []string{u, p}
		},
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return fmt.Sprintf("smtp auth %s:%s failed (535)", u, p), []string{u, p}
		},
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return fmt.Sprintf("basic-auth: %s:%s", u, p), []string{u, p}
		},
	}},
	{name: "base64-basic-auth", tune: []tmpl{
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return "Authorization: Basic " + b64(u+":"+p), []string{b64(u + ":" + p)}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return `"headers": {"authorization": "Basic ` + b64(u+":"+p) + `"}`, []string{b64(u + ":" + p)}
		},
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return "auth=" + b64(u+":"+p) + " scheme=basic", []string{b64(u + ":" + p)}
		},
	}},
	{name: "k8s-secret", tune: []tmpl{
		func(v *values) (string, []string) { p := v.pw(); return "  password: " + b64(p), []string{b64(p)} },
		func(v *values) (string, []string) {
			t := v.tok()
			return `  .dockerconfigjson: ` + b64(`{"auths":{"r":{"auth":"`+b64("u:"+t)+`"}}}`), []string{b64(`{"auths":{"r":{"auth":"` + b64("u:"+t) + `"}}}`)}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) { t := v.tok(); return "  api-key: " + b64(t), []string{b64(t)} },
		func(v *values) (string, []string) {
			p := v.pw()
			return "  DB_PASS: " + b64(p) + "  # base64", []string{b64(p)}
		},
	}},
	{name: "cloud-cli", tune: []tmpl{
		func(v *values) (string, []string) {
			s := v.awsSecret()
			return `        "SecretAccessKey": "` + s + `",`, []string{s}
		},
		func(v *values) (string, []string) {
			k := v.awsKey()
			return "aws_access_key_id     " + k + "     shared-credentials-file", []string{k}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			t := v.tok()
			return "DefaultEndpointsProtocol=https;AccountName=stlogs;AccountKey=" + b64(t) + ";EndpointSuffix=core.windows.net", []string{b64(t)}
		},
		func(v *values) (string, []string) {
			t := v.tok()
			return `    "SessionToken": "` + t + b64(t) + `",`, []string{t + b64(t)}
		},
		func(v *values) (string, []string) {
			m := v.mail()
			return `  "client_email": "` + m + `",`, []string{m}
		},
	}},
	{name: "stacktrace", tune: []tmpl{
		func(v *values) (string, []string) {
			u, ip := v.user(), v.addr()
			return fmt.Sprintf("java.sql.SQLException: Access denied for user '%s'@'%s' (using password: YES)", u, ip), []string{u, ip}
		},
		func(v *values) (string, []string) {
			h, ip := v.hst(), v.addr()
			return fmt.Sprintf(`psycopg2.OperationalError: connection to server at "%s" (%s), port 5432 failed: Connection refused`, h, ip), []string{h, ip}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return fmt.Sprintf("Caused by: org.postgresql.util.PSQLException: FATAL: password authentication failed (url=jdbc:postgresql://%s:5432/app?user=%s&password=%s)", h, u, p), []string{h, u, p}
		},
		func(v *values) (string, []string) {
			u, p, h := v.user(), v.pw(), v.hst()
			return fmt.Sprintf("  File \"/srv/app/db.py\", line 42, in connect: engine = create_engine(\"postgresql+psycopg2://%s:%s@%s/app\")", u, p, h), []string{u, p, h}
		},
	}},
	{name: "pii-free-text", tune: []tmpl{
		func(v *values) (string, []string) {
			m, t := v.mail(), v.tel()
			return fmt.Sprintf("%s INFO ticket opened by %s, callback %s", ts(v), m, t), []string{m, t}
		},
		func(v *values) (string, []string) {
			n, m := v.name(), v.mail()
			return fmt.Sprintf(`From: "%s" <%s>`, n, m), []string{n, m}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			n, m, t := v.name(), v.mail(), v.tel()
			return fmt.Sprintf("customer %s (%s, %s) reported a failed payment", n, m, t), []string{n, m, t}
		},
		func(v *values) (string, []string) {
			n := v.name()
			return fmt.Sprintf("%s WARN account locked for %s after 5 attempts", ts(v), n), []string{n}
		},
		func(v *values) (string, []string) {
			m, ip := v.mail(), v.addr()
			return fmt.Sprintf("sshd: invalid login %s from %s", m, ip), []string{m, ip}
		},
	}},
	{name: "cards", tune: []tmpl{
		func(v *values) (string, []string) {
			c := v.cc()
			return fmt.Sprintf("%s WARN payment declined card=%s amount=42.00", ts(v), c), []string{c}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			c := v.cc()
			return fmt.Sprintf("refund issued to card %s (exp 09/28)", c), []string{c}
		},
		func(v *values) (string, []string) {
			c := v.cc()
			return `{"pan":"` + strings.ReplaceAll(c, " ", "") + `","currency":"EUR"}`, []string{strings.ReplaceAll(c, " ", "")}
		},
	}},
	{name: "tokens", tune: []tmpl{
		func(v *values) (string, []string) {
			k := v.awsKey()
			return "botocore.exceptions.ClientError: key " + k + " is not authorized", []string{k}
		},
		func(v *values) (string, []string) {
			g := "ghp_" + randAlnum(v.r, 36)
			return "git clone https://" + g + "@github.com/acme/infra.git", []string{g}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			s := "xoxb-" + randFrom(v.r, "0123456789", 12) + "-" + randFrom(v.r, "0123456789", 13) + "-" + randAlnum(v.r, 24)
			return "slack notifier configured with " + s, []string{s}
		},
		func(v *values) (string, []string) {
			s := "sk_live_" + randAlnum(v.r, 24)
			return "stripe: using key " + s, []string{s}
		},
		func(v *values) (string, []string) {
			h := `eyJhbGciOiJIUzI1NiJ9.` + strings.TrimRight(b64(`{"sub":"`+v.user()+`"}`), "=") + "." + randAlnum(v.r, 43)
			return "rejected jwt " + h, []string{h}
		},
	}},

	// Families added in a second round, to both halves at once; the
	// held-out half was measured before any tuning on them.
	{name: "xml", tune: []tmpl{
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return `<connection username="` + u + `" password="` + p + `" pool="10"/>`, []string{u, p}
		},
		func(v *values) (string, []string) {
			t := v.tok()
			return "<authToken>" + t + "</authToken>", []string{t}
		},
		func(v *values) (string, []string) {
			p := v.pw()
			return "    <password>" + p + "</password>", []string{p}
		},
		func(v *values) (string, []string) {
			p := v.pw()
			return `<add key="DbPassword" value="` + p + `" />`, []string{p}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return `<user name="` + u + `" password="` + p + `" roles="admin"/>`, []string{u, p}
		},
		func(v *values) (string, []string) {
			t := v.tok()
			return "  <apiToken>" + t + "</apiToken>", []string{t}
		},
	}},
	{name: "properties-ini", tune: []tmpl{
		func(v *values) (string, []string) { p := v.pw(); return "spring.datasource.password=" + p, []string{p} },
		func(v *values) (string, []string) { u := v.user(); return "db.username = " + u, []string{u} },
	}, holdout: []tmpl{
		func(v *values) (string, []string) { p := v.pw(); return "password = " + p, []string{p} },
		func(v *values) (string, []string) { t := v.tok(); return "mail.smtp.auth.token : " + t, []string{t} },
	}},
	{name: "form-body", tune: []tmpl{
		func(v *values) (string, []string) {
			m, p := v.mail(), v.pw()
			return "body=email=" + strings.ReplaceAll(m, "@", "%40") + "&password=" + p, []string{m[:strings.IndexByte(m, '@')], p}
		},
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return `data="user=` + u + `&passwd=` + p + `"`, []string{u, p}
		},
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return "request body: username=" + u + "&password=" + p + "&remember=1", []string{u, p}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			m, p := v.mail(), v.pw()
			return "POST /session payload=email=" + strings.ReplaceAll(m, "@", "%40") + "&pass=" + p, []string{m[:strings.IndexByte(m, '@')], p}
		},
		func(v *values) (string, []string) {
			u, p := v.user(), v.pw()
			return `form data: "login=` + u + `&pwd=` + p + `"`, []string{u, p}
		},
	}},
	{name: "access-log", tune: []tmpl{
		func(v *values) (string, []string) {
			ip, u := v.addr(), v.user()
			return fmt.Sprintf(`%s - %s [20/Nov/2026:10:00:00 +0000] "GET /admin HTTP/1.1" 403 153`, ip, u), []string{ip, u}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			ip, t := v.addr(), v.tok()
			return fmt.Sprintf(`%s - - [20/Nov/2026:10:00:01 +0000] "GET /v1/export?access_token=%s HTTP/2.0" 200 5120`, ip, t), []string{ip, t}
		},
		func(v *values) (string, []string) {
			ip, t := v.addr(), v.tok()
			return fmt.Sprintf(`%s "POST /hooks/deploy?sig=%s" 202`, ip, t), []string{ip, t}
		},
	}},
	{name: "sql-literals", tune: []tmpl{
		func(v *values) (string, []string) {
			m := v.mail()
			return fmt.Sprintf("SELECT * FROM users WHERE email = '%s' LIMIT 1", m), []string{m}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			t := v.tok()
			return fmt.Sprintf("UPDATE accounts SET api_key='%s' WHERE id=7", t), []string{t}
		},
		func(v *values) (string, []string) {
			m, t := v.mail(), v.tel()
			return fmt.Sprintf("INSERT INTO contacts (email, phone) VALUES ('%s', '%s')", m, t), []string{m, t}
		},
	}},
	{name: "directory-users", tune: []tmpl{
		func(v *values) (string, []string) {
			u := v.user()
			return `User ACME\` + u + ` was locked out`, []string{u}
		},
		func(v *values) (string, []string) {
			n := v.name()
			return "memberOf check for CN=" + n + ",OU=Staff,DC=acme,DC=local", []string{n}
		},
		func(v *values) (string, []string) {
			u := v.user()
			return fmt.Sprintf(`An account failed to log on. Account Name: %s Account Domain: CORP`, u), []string{u}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			u := v.user()
			return `Logon failure for CORP\` + u + ` (0xC000006A)`, []string{u}
		},
		func(v *values) (string, []string) {
			n := v.name()
			return "ldap: bind cn=" + n + ",ou=People,dc=example,dc=com failed", []string{n}
		},
	}},
	{name: "auth-syslog", tune: []tmpl{
		func(v *values) (string, []string) {
			u, ip := v.user(), v.addr()
			return fmt.Sprintf("login: pam_unix(login:auth): authentication failure; logname=%s uid=0 euid=0 tty=tty1 ruser= rhost=%s  user=%s", u, ip, u), []string{u, ip}
		},
		func(v *values) (string, []string) {
			u := v.user()
			return fmt.Sprintf("su[311]: pam_unix(su:session): session opened for user root by %s(uid=1000)", u), []string{u}
		},
		func(v *values) (string, []string) {
			u, ip := v.user(), v.addr()
			return fmt.Sprintf("sshd[4123]: Accepted publickey for %s from %s port 51022 ssh2", u, ip), []string{u, ip}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) {
			u, ip := v.user(), v.addr()
			return fmt.Sprintf("sudo: pam_unix(sudo:auth): authentication failure; logname=%s uid=1001 euid=0 tty=/dev/pts/0 ruser=%s rhost=%s", u, u, ip), []string{u, ip}
		},
		func(v *values) (string, []string) {
			u := v.user()
			return fmt.Sprintf("su: FAILED SU (to root) %s on pts/2", u), []string{u}
		},
	}},
	{name: "iac-values", tune: []tmpl{
		func(v *values) (string, []string) {
			p := v.pw()
			return `      + password            = "` + p + `"`, []string{p}
		},
		func(v *values) (string, []string) { p := v.pw(); return "TF_VAR_db_password=" + p, []string{p} },
	}, holdout: []tmpl{
		func(v *values) (string, []string) { p := v.pw(); return "  adminPassword: " + p, []string{p} },
		func(v *values) (string, []string) {
			t := v.tok()
			return `  ~ secret_string = "` + t + `" -> (sensitive value)`, []string{t}
		},
	}},
	{name: "grpc-metadata", tune: []tmpl{
		func(v *values) (string, []string) {
			t := v.tok()
			return "metadata: authorization=bearer " + t, []string{t}
		},
	}, holdout: []tmpl{
		func(v *values) (string, []string) { t := v.tok(); return "x-goog-api-key: " + t, []string{t} },
		func(v *values) (string, []string) {
			t := v.tok()
			return `grpc call failed: rpc error: code = Unauthenticated desc = invalid token "` + t + `"`, []string{t}
		},
	}},
}

// clean lines: realistic lines with nothing to mask (ids, versions,
// durations, paths, SQL without values, stack frames, k8s names).
var cleanTune = []func(v *values) string{
	func(v *values) string {
		return fmt.Sprintf("%s INFO [http] GET /api/v1/orders/%d 200 %dms", ts(v), v.r.IntN(99999), v.r.IntN(900))
	},
	func(v *values) string {
		return fmt.Sprintf("%s WARN [pool] waited %dms for a connection (active=%d idle=%d max=50)", ts(v), v.r.IntN(5000), v.r.IntN(50), v.r.IntN(10))
	},
	func(v *values) string {
		return fmt.Sprintf("request_id=%s trace_id=%s span_id=%s duration=%.3fs status=503", uuid(v), randFrom(v.r, "0123456789abcdef", 32), randFrom(v.r, "0123456789abcdef", 16), v.r.Float64())
	},
	func(v *values) string {
		return fmt.Sprintf("\tat com.acme.checkout.OrderService.place(OrderService.java:%d)", 40+v.r.IntN(400))
	},
	func(v *values) string {
		return fmt.Sprintf("Pod checkout-api-%s-%s restarted (exit code 137, OOMKilled) in namespace prod", randFrom(v.r, "bcdfghjklmnpqrstvwxz2456789", 10), randFrom(v.r, "bcdfghjklmnpqrstvwxz2456789", 5))
	},
	func(v *values) string {
		return "SELECT id, status FROM orders WHERE created_at > $1 AND status = $2 LIMIT 100"
	},
	func(v *values) string {
		return fmt.Sprintf("password_policy: min_length=%d require_symbols=true", 8+v.r.IntN(8))
	},
	func(v *values) string { return "db-password:" },
	func(v *values) string { return fmt.Sprintf("GET /healthz %d", 200) },
}

var cleanHoldout = []func(v *values) string{
	func(v *values) string {
		return fmt.Sprintf("%s INFO [grpc] /payments.v1.Charge/Create OK in %dµs", ts(v), v.r.IntN(90000))
	},
	func(v *values) string {
		return fmt.Sprintf("deployment checkout-api rolled out revision %d (image checkout:%d.%d.%d)", v.r.IntN(90), 1+v.r.IntN(3), v.r.IntN(20), v.r.IntN(20))
	},
	func(v *values) string {
		return fmt.Sprintf("job=%s attempt=%d/5 backoff=%ds reason=DeadlineExceeded", uuid(v), 1+v.r.IntN(5), v.r.IntN(60))
	},
	func(v *values) string {
		return fmt.Sprintf("  File \"/usr/lib/python3.11/site-packages/urllib3/connectionpool.py\", line %d, in urlopen", 100+v.r.IntN(900))
	},
	func(v *values) string { return fmt.Sprintf("PASSWORD_MIN_LENGTH=%d", 8+v.r.IntN(8)) },
	func(v *values) string { return "DB_PASSWORD_FILE=/run/secrets/db_password" },
	func(v *values) string { return `"apiKey": "${STRIPE_API_KEY}",` },
	func(v *values) string {
		return fmt.Sprintf("L%d ERROR upstream reset after %dms", 1+v.r.IntN(40), v.r.IntN(3000))
	},
	func(v *values) string {
		return fmt.Sprintf("cache hit ratio %.2f over %d keys (evicted %d)", v.r.Float64(), v.r.IntN(100000), v.r.IntN(500))
	},
}

func uuid(v *values) string {
	h := randFrom(v.r, "0123456789abcdef", 32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
