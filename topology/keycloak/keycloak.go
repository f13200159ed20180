// Package keycloak reads what a Keycloak server says of itself through its admin REST API: its version, a realm's password policy and a
// user's stored password credential (the admin API gives its algorithm and iterations, never its
// salt or hash: ParseSecretData reads those from the database's credential row).
package keycloak

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"dpsim/agent/apiauth"
)

// Client is a Keycloak server at BaseURL (e.g. https://auth.example.test), reached with HTTP.
type Client struct {
	HTTP    *http.Client
	BaseURL string
	admin   string // the admin's access token, after Login
}

// Login takes an admin token from the master realm (client admin-cli) for the admin API.
func (c *Client) Login(ctx context.Context, user, password string) error {
	token, err := apiauth.PasswordGrant(ctx, c.HTTP, c.BaseURL+"/realms/master/protocol/openid-connect/token", "admin-cli", user, password)
	if err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	c.admin = token
	return nil
}

// Version is the server's version, from the admin API's server info.
func (c *Client) Version(ctx context.Context) (string, error) {
	var info struct {
		SystemInfo struct {
			Version string `json:"version"`
		} `json:"systemInfo"`
	}
	if err := c.adminGet(ctx, "/admin/serverinfo", &info); err != nil {
		return "", err
	}
	if info.SystemInfo.Version == "" {
		return "", errors.New("server info names no version")
	}
	return info.SystemInfo.Version, nil
}

// PasswordPolicy is realm's password policy as the server holds it ("" when it has none).
func (c *Client) PasswordPolicy(ctx context.Context, realm string) (string, error) {
	var r struct {
		PasswordPolicy string `json:"passwordPolicy"`
	}
	if err := c.adminGet(ctx, "/admin/realms/"+url.PathEscape(realm), &r); err != nil {
		return "", err
	}
	return r.PasswordPolicy, nil
}

// Credential is what the admin API tells of a user's stored password.
type Credential struct {
	Algorithm  string `json:"algorithm"`
	Iterations int    `json:"hashIterations"`
}

// PasswordCredential is the stored password credential of user in realm (credentialData).
func (c *Client) PasswordCredential(ctx context.Context, realm, user string) (Credential, error) {
	var users []struct {
		ID string `json:"id"`
	}
	if err := c.adminGet(ctx, "/admin/realms/"+url.PathEscape(realm)+"/users?exact=true&username="+url.QueryEscape(user), &users); err != nil {
		return Credential{}, err
	}
	if len(users) != 1 {
		return Credential{}, fmt.Errorf("realm %s has %d users named %s", realm, len(users), user)
	}
	var creds []struct {
		Type           string `json:"type"`
		CredentialData string `json:"credentialData"`
	}
	if err := c.adminGet(ctx, "/admin/realms/"+url.PathEscape(realm)+"/users/"+users[0].ID+"/credentials", &creds); err != nil {
		return Credential{}, err
	}
	for _, cr := range creds {
		if cr.Type != "password" {
			continue
		}
		var out Credential
		if err := json.Unmarshal([]byte(cr.CredentialData), &out); err != nil {
			return Credential{}, fmt.Errorf("credentialData of %s in realm %s: %w", user, realm, err)
		}
		return out, nil
	}
	return Credential{}, fmt.Errorf("%s in realm %s has no password credential", user, realm)
}

// ParseSecretData reads the salt and hash of a password credential's secret_data column
// ({"value": base64 hash, "salt": base64 salt, ...}).
func ParseSecretData(secretData string) (salt, hash []byte, err error) {
	var s struct {
		Value string `json:"value"`
		Salt  string `json:"salt"`
	}
	if err := json.Unmarshal([]byte(secretData), &s); err != nil {
		return nil, nil, fmt.Errorf("secret data: %w", err)
	}
	if salt, err = base64.StdEncoding.DecodeString(s.Salt); err != nil {
		return nil, nil, fmt.Errorf("secret data's salt: %w", err)
	}
	if hash, err = base64.StdEncoding.DecodeString(s.Value); err != nil {
		return nil, nil, fmt.Errorf("secret data's value: %w", err)
	}
	return salt, hash, nil
}

func (c *Client) adminGet(ctx context.Context, path string, into any) error {
	if c.admin == "" {
		return errors.New("admin API: not logged in")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.admin)
	if err := c.do(req, into); err != nil {
		return fmt.Errorf("admin API %s: %w", path, err)
	}
	return nil
}

// do sends req and decodes a 200 answer's JSON into into; any other answer is an error naming it.
func (c *Client) do(req *http.Request, into any) error {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %.200s", resp.Status, body)
	}
	return json.Unmarshal(body, into)
}
