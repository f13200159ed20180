package reports

// OIDC is what the OIDC probes saw (DP-AUTH-1): the identity provider, each realm's endpoints
// over TLS through the ingress and over plain HTTP, and every token tried at every tenant's API.
type OIDC struct {
	Provider  string         `json:"provider"` // e.g. "keycloak 26.7.3", from the provider's own answer
	Realms    []OIDCRealm    `json:"realms"`
	Endpoints []OIDCEndpoint `json:"endpoints"`
	Tokens    []TokenTrial   `json:"tokens"`
}

// OIDCRealm is one tenant's realm as its discovery document describes it.
type OIDCRealm struct {
	Tenant        string `json:"tenant"`
	Realm         string `json:"realm"`
	Issuer        string `json:"issuer"`
	TokenEndpoint string `json:"tokenEndpoint"`
	JWKSURI       string `json:"jwksUri"`
	// SigningAlgorithms are id_token_signing_alg_values_supported.
	SigningAlgorithms []string `json:"signingAlgorithms"`
}

// OIDCEndpoint is one endpoint of a realm reached over TLS and over plain HTTP: what each answered
// ("200", "redirect to https", "refused", "301 http://...", or the error).
type OIDCEndpoint struct {
	Realm string `json:"realm"`
	Name  string `json:"name"` // discovery, jwks, token
	URL   string `json:"url"`
	TLS   string `json:"tls"`
	Plain string `json:"plain"`
}

// TokenTrial is one token presented to one tenant's API.
type TokenTrial struct {
	Realm string `json:"realm"` // the realm that issued it (or whose token was altered)
	API   string `json:"api"`   // the tenant whose API it was presented to
	// Kind is valid (from a password grant), expired, tampered (a claim changed, signature
	// kept) or unsigned (alg none).
	Kind   string `json:"kind"`
	Result string `json:"result"` // accepted, refused, error
	Detail string `json:"detail,omitempty"`
}

// Token kinds and trial results.
const (
	TokenValid    = "valid"
	TokenExpired  = "expired"
	TokenTampered = "tampered"
	TokenUnsigned = "unsigned"

	TokenAccepted = "accepted"
	TokenRefused  = "refused"
)
