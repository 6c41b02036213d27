package redact

// prefixRule is a well-known token format recognised by its prefix: the
// prefix, then at least min characters of the token alphabet.
type prefixRule struct {
	prefix string
	kind   Kind
	min    int
	fold   bool // prefix matches case-insensitively
}

// prefixRules, grouped by first byte for a one-lookup dispatch. Sources:
// the providers' published token formats.
var prefixRules [256][]prefixRule

func init() {
	for _, r := range []prefixRule{
		// AWS access key ids (and other IAM unique-id prefixes).
		{"AKIA", KindAWSKey, 16, false}, {"ASIA", KindAWSKey, 16, false}, {"ABIA", KindAWSKey, 16, false},
		{"ACCA", KindAWSKey, 16, false}, {"AGPA", KindAWSKey, 16, false}, {"AIDA", KindAWSKey, 16, false},
		{"AROA", KindAWSKey, 16, false}, {"AIPA", KindAWSKey, 16, false}, {"ANPA", KindAWSKey, 16, false},
		{"ANVA", KindAWSKey, 16, false}, {"APKA", KindAWSKey, 16, false}, {"A3T", KindAWSKey, 16, false},
		{"ABSK", KindAWSKey, 40, false}, // Bedrock API keys
		{"AIza", KindGCPKey, 30, false},
		{"ya29.", KindGCPKey, 20, false},
		{"ghp_", KindGitHub, 30, false}, {"gho_", KindGitHub, 30, false}, {"ghu_", KindGitHub, 30, false},
		{"ghs_", KindGitHub, 30, false}, {"ghr_", KindGitHub, 30, false}, {"github_pat_", KindGitHub, 40, false},
		{"glpat-", KindGitLab, 20, false}, {"gldt-", KindGitLab, 20, false}, {"glptt-", KindGitLab, 20, false},
		{"glrt-", KindGitLab, 20, false}, {"glrtr-", KindGitLab, 20, false}, {"glcbt-", KindGitLab, 20, false},
		{"glimt-", KindGitLab, 20, false}, {"glagent-", KindGitLab, 20, false}, {"glsoat-", KindGitLab, 20, false},
		{"glffct-", KindGitLab, 20, false}, {"glft-", KindGitLab, 20, false}, {"gloas-", KindGitLab, 20, false},
		{"GR1348941", KindGitLab, 20, false}, {"_gitlab_session=", KindGitLab, 20, false},
		{"xoxb-", KindSlack, 10, false}, {"xoxp-", KindSlack, 10, false}, {"xoxa-", KindSlack, 10, false},
		{"xoxr-", KindSlack, 10, false}, {"xoxs-", KindSlack, 10, false}, {"xoxo-", KindSlack, 10, false},
		{"xoxe-", KindSlack, 10, false}, {"xoxe.xox", KindSlack, 10, false}, {"xapp-", KindSlack, 10, false},
		{"sk_live_", KindStripe, 10, false}, {"sk_test_", KindStripe, 10, false}, {"sk_prod_", KindStripe, 10, false},
		{"rk_live_", KindStripe, 10, false}, {"rk_test_", KindStripe, 10, false}, {"rk_prod_", KindStripe, 10, false},
		{"whsec_", KindStripe, 20, false},
		// Other SaaS formats (API_KEY).
		{"sk-ant-", KindAPIKey, 20, false}, {"sk-proj-", KindAPIKey, 20, false}, {"sk-svcacct-", KindAPIKey, 20, false},
		{"sk-admin-", KindAPIKey, 20, false}, {"sk-", KindAPIKey, 40, false}, {"pplx-", KindAPIKey, 40, false},
		{"hf_", KindAPIKey, 30, false}, {"api_org_", KindAPIKey, 30, false},
		{"npm_", KindAPIKey, 30, false}, {"pypi-", KindAPIKey, 50, false}, {"rubygems_", KindAPIKey, 40, false},
		{"shpat_", KindAPIKey, 30, false}, {"shpca_", KindAPIKey, 30, false}, {"shppa_", KindAPIKey, 30, false}, {"shpss_", KindAPIKey, 30, false},
		{"dop_v1_", KindAPIKey, 60, false}, {"doo_v1_", KindAPIKey, 60, false}, {"dor_v1_", KindAPIKey, 60, false},
		{"SG.", KindAPIKey, 60, false}, {"xkeysib-", KindAPIKey, 60, false}, {"sq0atp-", KindAPIKey, 20, false}, {"sq0csp-", KindAPIKey, 40, false},
		{"EAA", KindAPIKey, 60, false}, {"lin_api_", KindAPIKey, 40, false}, {"lin_oauth_", KindAPIKey, 60, false},
		{"ntn_", KindAPIKey, 40, false}, {"secret_", KindAPIKey, 40, false},
		{"dapi", KindAPIKey, 32, false}, {"glc_", KindAPIKey, 30, false}, {"glsa_", KindAPIKey, 30, false},
		{"sgp_", KindAPIKey, 30, false}, {"pscale_tkn_", KindAPIKey, 30, false}, {"pscale_pw_", KindAPIKey, 30, false},
		{"pscale_oauth_", KindAPIKey, 30, false}, {"pnu_", KindAPIKey, 30, false}, {"pul-", KindAPIKey, 40, false},
		{"dp.pt.", KindAPIKey, 40, false}, {"dp.st.", KindAPIKey, 40, false}, {"dp.ct.", KindAPIKey, 40, false},
		{"dt0c01.", KindAPIKey, 60, false}, {"FlWPUBK_TEST-", KindAPIKey, 20, false}, {"FLWSECK_TEST-", KindAPIKey, 20, false},
		{"FLWSECK-", KindAPIKey, 20, false}, {"FlWPUBK-", KindAPIKey, 20, false},
		{"fo1_", KindAPIKey, 40, false}, {"fio-u-", KindAPIKey, 60, false}, {"PMAK-", KindAPIKey, 50, false},
		{"pk_live_", KindAPIKey, 20, false}, {"sk_", KindAPIKey, 32, false},
		{"hvs.", KindAPIKey, 90, false}, {"hvb.", KindAPIKey, 130, false}, {"s.", KindAPIKey, 24, false},
		{"tk-us-", KindAPIKey, 40, false}, {"CCIPAT_", KindAPIKey, 40, false}, {"CCIPRJ_", KindAPIKey, 40, false},
		{"nfp_", KindAPIKey, 30, false}, {"NRAK-", KindAPIKey, 27, false}, {"NRII-", KindAPIKey, 32, false}, {"NRJS-", KindAPIKey, 19, false},
		{"cmVmd", KindAPIKey, 59, false}, {"AKCp", KindAPIKey, 69, false}, {"oy2", KindAPIKey, 43, false},
		{"A3-", KindAPIKey, 30, false}, {"ops_eyJ", KindAPIKey, 100, false}, {"age-secret-key-1", KindAPIKey, 58, true},
		{"t1.", KindAPIKey, 80, false}, {"YC", KindAPIKey, 38, false}, {"AQVN", KindAPIKey, 35, false},
		{"ATATT3", KindAPIKey, 180, false}, {"sntrys_", KindAPIKey, 60, false}, {"sntryu_", KindAPIKey, 60, false},
		{"ctx7sk-", KindAPIKey, 30, false}, {"duffel_test_", KindAPIKey, 40, false}, {"duffel_live_", KindAPIKey, 40, false},
		{"EZAK", KindAPIKey, 54, false}, {"EZTK", KindAPIKey, 54, false}, {"sl.", KindAPIKey, 130, false},
		{"API-", KindAPIKey, 25, false}, {"rdme_", KindAPIKey, 70, false}, {"key-", KindAPIKey, 32, false},
		{"pat.", KindAPIKey, 50, false}, {"sat.", KindAPIKey, 50, false}, {"patj", KindAPIKey, 60, false}, {"pat", KindAPIKey, 78, false},
		{"clojars_", KindAPIKey, 60, false}, {"dckr_pat_", KindAPIKey, 27, false}, {"bkua_", KindAPIKey, 40, false},
		{"eyJ", KindJWT, 0, false},   // routed to the JWT matcher
		{"ZXlK", KindJWT, 40, false}, // a base64-encoded JWT
		{"p8e-", KindAPIKey, 32, false}, {"HRKU-", KindAPIKey, 50, false}, {"s-s4t2ud-", KindAPIKey, 60, false},
		{"s-s4t2af-", KindAPIKey, 60, false}, {"sqa_", KindAPIKey, 40, false}, {"squ_", KindAPIKey, 40, false}, {"sqp_", KindAPIKey, 40, false},
		{"v1.0-", KindAPIKey, 100, false}, {"nrak-", KindAPIKey, 27, true},
	} {
		prefixRules[r.prefix[0]] = append(prefixRules[r.prefix[0]], r)
	}
}

// tokenChar is the alphabet of API tokens.
func tokenChar(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '.' || c == '=' || c == '+' || c == '/'
}

// tlds are top-level domains that make a dotted name a host name. File
// extensions that are also TLDs (py, sh, md, pl, rs, zip, so, cc, ...) are
// left out on purpose: "setup.py" and "run.sh" are files, not hosts.
var tlds = map[string]bool{}

func init() {
	for _, t := range []string{
		"com", "net", "org", "edu", "gov", "mil", "int", "io", "co", "ai", "dev", "app", "cloud", "info", "biz",
		"me", "tv", "us", "uk", "de", "fr", "jp", "cn", "hk", "ru", "br", "in", "au", "ca", "nl", "se", "no", "fi", "dk",
		"ch", "at", "be", "es", "it", "kr", "tw", "sg", "om", "ie", "nz", "za", "mx", "ar", "cl", "pt", "gr", "tr", "il",
		"ae", "sa", "eg", "ng", "ke", "id", "my", "th", "vn", "ph", "pk", "bd", "ua", "cz", "hu", "ro", "bg", "sk", "si",
		"hr", "rs", "lt", "lv", "ee", "is", "lu", "eu", "asia", "online", "site", "tech", "store", "xyz", "top",
		"local", "localdomain", "internal", "lan", "corp", "intranet", "home", "arpa", "svc", "cluster",
	} {
		tlds[t] = true
	}
}

// Stop words that follow "user" in logs without being a user name.
var notUser = map[string]bool{
	"unknown": true, "not": true, "is": true, "was": true, "by": true, "from": true, "for": true, "with": true,
	"*": true, "<*>": true, "<num>": true, "<ip>": true, "<id>": true, // a log template's variables
	"in": true, "to": true, "the": true, "a": true, "an": true, "has": true, "had": true, "and": true, "or": true,
	"name": true, "id": true, "authentication": true, "session": true, "logged": true, "login": true, "of": true,
	"does": true, "account": true, "request": true, "agent": true, "data": true, "-": true, "=": true, ":": true,
	"invalid": true, "null": true, "none": true, "on": true, "at": true, "as": true, "info": true, "list": true,
	"cannot": true, "could": true, "must": true, "should": true, "will": true, "can": true, "may": true,
}
