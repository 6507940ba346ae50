package contract

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"

	"github.com/contactbridge/contactbridge/sync/m360api"
)

// M360Account is what the Marketing 360 states are made with: an API key
// of the account the sync writes to.
type M360Account struct {
	// BaseURL is the API's ("" means the live one); paths are under /v1.
	BaseURL string
	// ClientID and ClientSecret are a key with every permission the sync
	// uses.
	ClientID, ClientSecret string
	// ReadOnlyID and ReadOnlySecret are a key with contacts:read but not
	// contacts:write; StateCannotWrite needs it.
	ReadOnlyID, ReadOnlySecret string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// Limit makes StateRateLimited; the zero value sends requests until a
	// 429 and, at teardown, waits its Retry-After with Wait (nil: the real clock).
	Limit RateLimit
	Wait  Wait
}

// BasicAuth is the Authorization value of an API key.
func BasicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// M360States returns the handlers of every Marketing 360 provider state.
// What a setup makes, its teardown deletes.
func M360States(acc M360Account) (States, error) {
	doer := acc.HTTP
	if doer == nil {
		doer = http.DefaultClient
	}
	auth := BasicAuth(acc.ClientID, acc.ClientSecret)
	api, err := m360api.New(acc.BaseURL, doer, m360api.WithRequestEditorFn(authorization(auth)))
	if err != nil {
		return nil, fmt.Errorf("contract: %w", err)
	}
	base := map[string]any{KeyAuthorization: auth, KeyContactID: missingContactM360}
	m := &m360States{acc: acc, api: api, stateSet: newStateSet(base, acc.Limit, acc.Wait, func(ctx context.Context) (int, http.Header, error) {
		res, err := api.M360GetAccountWithResponse(ctx)
		if err != nil {
			return 0, nil, err
		}
		return res.StatusCode(), res.HTTPResponse.Header, nil
	})}
	return States{
		StateContactExists:       m.with(m.contact),
		StateContactWithOpenTask: m.with(m.contact, m.task),
		StateContactLinked:       m.with(m.linked),
		StateNoContactWithEmail:  m.with(m.noneWithEmail(m.deleteByEmail)),
		StateCampaignAndContact:  m.with(m.contact, m.campaign),
		StateContactMissing:      m.with(),
		StateCredentialsRejected: m.with(m.rejected),
		StateCannotWrite:         m.with(m.readOnly),
		StateRateLimited:         m.with(m.rateLimited),
	}, nil
}

type m360States struct {
	*stateSet
	acc M360Account
	api *m360api.ClientWithResponses
}

func (m *m360States) createContact(ctx context.Context, in m360api.M360CreateContactJSONRequestBody) (int64, error) {
	res, err := m360api.OK(m.api.M360CreateContactWithResponse(ctx, in))
	if err != nil {
		return 0, fmt.Errorf("contract: make a contact: %w", err)
	}
	id := res.JSON201.Result.Id
	m.undo.add(func(ctx context.Context) error {
		_, err := m360api.OK(m.api.M360DeleteContactWithResponse(ctx, id))
		if err != nil && !m360api.IsNotFound(err) {
			return fmt.Errorf("contract: delete contact %d: %w", id, err)
		}
		return nil
	})
	return id, nil
}

func (m *m360States) contact(ctx context.Context, vals, _ map[string]any) error {
	email, first := uniqueEmail(), "Pact"
	id, err := m.createContact(ctx, m360api.M360CreateContactJSONRequestBody{Email: &email, FirstName: &first})
	vals[KeyContactID] = id
	return err
}

func (m *m360States) linked(ctx context.Context, vals, params map[string]any) error {
	ghl, err := paramString(params, ParamGHLID)
	if err != nil {
		return err
	}
	email, first := uniqueEmail(), "Pact"
	id, err := m.createContact(ctx, m360api.M360CreateContactJSONRequestBody{Email: &email, FirstName: &first,
		ExternalIds: &m360api.ExternalIdsInput{Ghl: &ghl}})
	vals[KeyContactID] = id
	return err
}

func (m *m360States) task(ctx context.Context, vals, _ map[string]any) error {
	due := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC).Unix()
	res, err := m360api.OK(m.api.M360CreateTaskWithResponse(ctx, vals[KeyContactID].(int64),
		m360api.M360CreateTaskJSONRequestBody{Title: "Onboarding call", DueAt: &due}))
	if err != nil {
		return fmt.Errorf("contract: make a task: %w", err)
	}
	vals[KeyTaskID] = res.JSON201.Result.Id
	return nil
}

// campaign finds an active campaign: campaigns are made in the
// product, not through the API.
func (m *m360States) campaign(ctx context.Context, vals, _ map[string]any) error {
	res, err := m360api.OK(m.api.M360ListCampaignsWithResponse(ctx, nil))
	if err != nil {
		return fmt.Errorf("contract: list campaigns: %w", err)
	}
	for _, c := range res.JSON200.Result {
		if c.Status == m360api.Active {
			vals[KeyCampaignID] = c.Id
			return nil
		}
	}
	return fmt.Errorf("%w: an active campaign in the account", ErrStateNeeds)
}

func (m *m360States) deleteByEmail(ctx context.Context, email string) error {
	res, err := m360api.OK(m.api.M360ListContactsWithResponse(ctx, &m360api.M360ListContactsParams{Email: &email}))
	if err != nil {
		return fmt.Errorf("contract: look up %s: %w", email, err)
	}
	for _, c := range res.JSON200.Result {
		if _, err := m360api.OK(m.api.M360DeleteContactWithResponse(ctx, c.Id)); err != nil {
			return fmt.Errorf("contract: delete the contact with %s: %w", email, err)
		}
	}
	return nil
}

func (m *m360States) rejected(_ context.Context, vals, _ map[string]any) error {
	vals[KeyAuthorization] = BasicAuth(m.acc.ClientID, "not-the-secret")
	return nil
}

func (m *m360States) readOnly(_ context.Context, vals, _ map[string]any) error {
	if m.acc.ReadOnlyID == "" {
		return fmt.Errorf("%w: a key with contacts:read only", ErrStateNeeds)
	}
	vals[KeyAuthorization] = BasicAuth(m.acc.ReadOnlyID, m.acc.ReadOnlySecret)
	return nil
}
