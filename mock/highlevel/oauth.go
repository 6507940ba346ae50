package highlevel

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// OAuthServer is what the OAuth endpoints need.
type OAuthServer interface {
	Authorize(clientID, redirectURI, scope, location string) (string, error)
	Token(req auth.TokenRequest) (auth.TokenResponse, error)
}

// chooseLocation approves the authorization request at once and redirects
// back with a code; errors in the request itself are answered here, errors
// of the grant go back to the app as RFC 6749 redirect parameters.
func (a *API) chooseLocation(r *pipeline.Request) (pipeline.Response, error) {
	q := r.Query
	redirect := q.Get("redirect_uri")
	code, err := a.OAuth.Authorize(q.Get("client_id"), redirect, q.Get("scope"), q.Get("location_id"))
	switch {
	case errors.Is(err, auth.ErrUnknownApp):
		return pipeline.Response{}, pipeline.BadRequest("client_id " + q.Get("client_id") + " is not a registered app")
	case errors.Is(err, auth.ErrRedirectMismatch):
		return pipeline.Response{}, pipeline.BadRequest("redirect_uri " + redirect + " is not registered for this app")
	}
	target, perr := url.Parse(redirect)
	if perr != nil {
		return pipeline.Response{}, pipeline.BadRequest("redirect_uri is not a URL")
	}
	params := target.Query()
	var oerr *auth.OAuthError
	switch {
	case errors.As(err, &oerr):
		params.Set("error", oerr.Code.Error())
		params.Set("error_description", oerr.Description)
	case err != nil:
		return pipeline.Response{}, err
	default:
		params.Set("code", code)
	}
	if state := q.Get("state"); state != "" {
		params.Set("state", state)
	}
	target.RawQuery = params.Encode()
	return pipeline.Response{Status: http.StatusFound, Header: http.Header{"Location": {target.String()}}}, nil
}

type oauthErrorBody struct {
	StatusCode       int    `json:"statusCode"`
	Message          string `json:"message"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// token serves POST /oauth/token.
func (a *API) token(r *pipeline.Request) (pipeline.Response, error) {
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return pipeline.Response{}, pipeline.BadRequest("body is not a form: " + err.Error())
	}
	resp, err := a.OAuth.Token(auth.TokenRequest{
		ClientID: form.Get("client_id"), ClientSecret: form.Get("client_secret"), GrantType: form.Get("grant_type"),
		Code: form.Get("code"), RefreshToken: form.Get("refresh_token"), RedirectURI: form.Get("redirect_uri"),
		UserType: form.Get("user_type"), Location: form.Get("location_id"),
	})
	var oerr *auth.OAuthError
	if errors.As(err, &oerr) {
		status := http.StatusBadRequest
		if errors.Is(err, auth.ErrInvalidClient) {
			status = http.StatusUnauthorized
		}
		return pipeline.JSON(status, oauthErrorBody{StatusCode: status, Message: oerr.Description,
			Error: oerr.Code.Error(), ErrorDescription: oerr.Description}), nil
	}
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusOK, resp), nil
}
