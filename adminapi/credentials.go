package adminapi

import (
	"context"
	"net/http"
	"time"
)

// Credentials: tokens, OAuth apps and Marketing 360 keys.

// Token kinds MintToken takes.
const (
	TokenOAuth              = "oauth"
	TokenPrivateIntegration = "private-integration"
)

// TokenRequest asks for a HighLevel token.
type TokenRequest struct {
	LocationID string   `json:"locationId"`
	Scopes     []string `json:"scopes"`
	// Type is TokenOAuth (also when "") or TokenPrivateIntegration.
	Type string `json:"type,omitempty"`
	// ExpiresIn is in seconds: 0 the access-token lifetime, -1 never.
	ExpiresIn int `json:"expiresIn,omitempty"`
}

// Token is a minted HighLevel token.
type Token struct {
	Token      string     `json:"token"`
	Type       string     `json:"type"`
	LocationID string     `json:"locationId"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  *time.Time `json:"expiresAt"` // nil: never
}

// MintToken makes a HighLevel token for a location.
func (c *Client) MintToken(ctx context.Context, r TokenRequest) (Token, error) {
	if r.Scopes == nil {
		r.Scopes = []string{}
	}
	return call[Token](ctx, c, http.MethodPost, "/__admin/tokens", nil, r)
}

// App is a HighLevel OAuth app.
type App struct {
	ClientID      string   `json:"clientId"`
	ClientSecret  string   `json:"clientSecret"`
	Name          string   `json:"name,omitempty"`
	RedirectURIs  []string `json:"redirectUris"`
	Scopes        []string `json:"scopes"`
	Location      string   `json:"location,omitempty"`
	WebhookURL    string   `json:"webhookUrl,omitempty"`
	WebhookEvents []string `json:"webhookEvents,omitempty"`
}

// Apps lists the OAuth apps by client id.
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	var out struct {
		Apps []App `json:"apps"`
	}
	return out.Apps, c.do(ctx, http.MethodGet, "/__admin/apps", nil, nil, &out)
}

// PutApp registers an app, or replaces the one with its client id.
func (c *Client) PutApp(ctx context.Context, app App) (App, error) {
	if app.Scopes == nil {
		app.Scopes = []string{}
	}
	return call[App](ctx, c, http.MethodPost, "/__admin/apps", nil, app)
}

// M360Key is a Marketing 360 API key; ClientID and ClientSecret, when
// empty in a request, are made by the twin.
type M360Key struct {
	AccountID    int64    `json:"accountId"`
	Permissions  []string `json:"permissions"`
	ClientID     string   `json:"clientId,omitempty"`
	ClientSecret string   `json:"clientSecret,omitempty"`
}

// MintM360Key makes a Marketing 360 API key with chosen permissions.
func (c *Client) MintM360Key(ctx context.Context, k M360Key) (M360Key, error) {
	if k.Permissions == nil {
		k.Permissions = []string{}
	}
	return call[M360Key](ctx, c, http.MethodPost, "/__admin/m360/keys", nil, k)
}
