package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/journal"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

// subscriptionView is a HighLevel app's webhook subscription.
type subscriptionView struct {
	ClientID  string   `json:"clientId"`
	AppID     string   `json:"appId"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Locations []string `json:"locations"`
}

func (a *API) subscription(w store.Webhook) subscriptionView {
	v := subscriptionView{ClientID: w.ClientID, AppID: auth.App{ClientID: w.ClientID}.AppID(), URL: journal.RedactURLPasswords(w.URL),
		Events: w.Events, Locations: a.Tokens.Locations(w.ClientID)}
	if v.Events == nil {
		v.Events = []string{}
	}
	if v.Locations == nil {
		v.Locations = []string{}
	}
	return v
}

type m360SubscriptionView struct {
	ID        int64    `json:"id"`
	AccountID int64    `json:"accountId"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
}

func (a *API) getWebhooks(*pipeline.Request) (pipeline.Response, error) {
	hl := []subscriptionView{}
	for _, w := range a.Store.Webhooks() {
		if _, found := a.Tokens.App(w.ClientID); found {
			hl = append(hl, a.subscription(w))
		}
	}
	m := []m360SubscriptionView{}
	for _, w := range a.Store.AllM360Webhooks() {
		m = append(m, m360SubscriptionView{ID: w.ID, AccountID: w.AccountID, URL: journal.RedactURLPasswords(w.URL), Events: w.Events})
	}
	return ok(map[string]any{"keys": a.Webhooks.Keys().Public(), "settings": a.webhookSettings(),
		"subscriptions": map[string]any{"highlevel": hl, "m360": m}, "deliveries": a.Webhooks.Stats()})
}

func (a *API) webhookKeys(*pipeline.Request) (pipeline.Response, error) {
	return ok(a.Webhooks.Keys().Public())
}

func (a *API) webhookKeyPEM(pick func(webhooks.PublicKeys) string) pipeline.HandlerFunc {
	return func(*pipeline.Request) (pipeline.Response, error) {
		key := pick(a.Webhooks.Keys().Public())
		if key == "" {
			return pipeline.Response{}, &pipeline.Error{Status: http.StatusNotFound,
				Messages: []string{"the twin does not sign with RSA: start it with --webhook-rsa (webhooks.rsa)"}}
		}
		return ok(pipeline.Raw{ContentType: "text/plain; charset=utf-8", Data: []byte(key)})
	}
}

func (a *API) webhookSettings() WebhookSettings {
	return WebhookSettings{Settings: a.Webhooks.Settings(), EventOptions: a.Events.EventOptions()}
}

func (a *API) getWebhookSettings(*pipeline.Request) (pipeline.Response, error) {
	return ok(a.webhookSettings())
}

func (a *API) putWebhookSettings(r *pipeline.Request) (pipeline.Response, error) {
	var s WebhookSettings
	if err := r.Decode(&s); err != nil {
		return pipeline.Response{}, err
	}
	if err := a.Webhooks.SetSettings(s.Settings); err != nil {
		return pipeline.Response{}, err
	}
	a.Events.SetEventOptions(s.EventOptions)
	return ok(a.webhookSettings())
}

func (a *API) app(r *pipeline.Request) (auth.App, error) {
	app, found := a.Tokens.App(r.Path["clientId"])
	if !found {
		return app, &pipeline.Error{Status: http.StatusNotFound, Messages: []string{"no app " + r.Path["clientId"]}}
	}
	return app, nil
}

func (a *API) putHighLevelSubscription(r *pipeline.Request) (pipeline.Response, error) {
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	app, err := a.app(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	app.WebhookURL, app.WebhookEvents = in.URL, in.Events
	if err := a.putApp(app); err != nil {
		return pipeline.Response{}, err
	}
	return ok(a.subscription(store.Webhook{ClientID: app.ClientID, URL: in.URL, Events: in.Events}))
}

func (a *API) deleteHighLevelSubscription(r *pipeline.Request) (pipeline.Response, error) {
	app, err := a.app(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	a.Store.SetWebhook(store.Webhook{ClientID: app.ClientID})
	return ok(map[string]bool{"deleted": true})
}

// shown is deliveries as the admin API shows them: their targets without
// the passwords they may carry.
func shown(list []webhooks.Delivery) []webhooks.Delivery {
	for i := range list {
		list[i].Target = journal.RedactURLPasswords(list[i].Target)
	}
	return list
}

func (a *API) listDeliveries(r *pipeline.Request) (pipeline.Response, error) {
	q := r.Query
	f := webhooks.Filter{Twin: q.Get("twin"), Event: q.Get("event"), Status: q.Get("status"),
		Subscription: q.Get("subscription"), Resource: q.Get("resource"), EventID: q.Get("eventId")}
	f.Limit, _ = strconv.Atoi(q.Get("limit")) // validated by the spec
	if since := q.Get("since"); since != "" {
		f.Since, _ = time.Parse(time.RFC3339Nano, since) // validated by the spec
	}
	list, total := a.Webhooks.Deliveries(f)
	return ok(map[string]any{"deliveries": shown(list), "total": total})
}

func (a *API) getDelivery(r *pipeline.Request) (pipeline.Response, error) {
	d, err := a.Webhooks.Delivery(r.Path["id"])
	if err != nil {
		return pipeline.Response{}, err
	}
	return ok(shown([]webhooks.Delivery{d})[0])
}

func (a *API) redeliver(r *pipeline.Request) (pipeline.Response, error) {
	d, err := a.Webhooks.Redeliver(r.Path["id"])
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusAccepted, shown([]webhooks.Delivery{d})[0]), nil
}

func (a *API) redeliverMatching(r *pipeline.Request) (pipeline.Response, error) {
	var in struct {
		Since        time.Time `json:"since"`
		Twin         string    `json:"twin"`
		Event        string    `json:"event"`
		Resource     string    `json:"resource"`
		Status       string    `json:"status"`
		Subscription string    `json:"subscription"`
		EventID      string    `json:"eventId"`
	}
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	list, err := a.Webhooks.RedeliverMatching(webhooks.Filter{Since: in.Since, Twin: in.Twin, Event: in.Event,
		Resource: in.Resource, Status: in.Status, Subscription: in.Subscription, EventID: in.EventID})
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusAccepted, map[string]any{"deliveries": shown(list), "total": len(list)}), nil
}

// uninstallApp removes an app from a location: its tokens there stop
// working, and it is sent AppUninstall.
func (a *API) uninstallApp(r *pipeline.Request) (pipeline.Response, error) {
	var in struct {
		LocationID string `json:"locationId"`
	}
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	app, err := a.app(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	revoked, installed := a.Tokens.Uninstall(app.ClientID, in.LocationID)
	if !installed {
		return pipeline.Response{}, &pipeline.Error{Status: http.StatusNotFound,
			Messages: []string{"app " + app.ClientID + " is not installed on location " + in.LocationID}}
	}
	a.Events.AppUninstalled(app, in.LocationID, a.Clock.Now())
	return ok(map[string]any{"clientId": app.ClientID, "locationId": in.LocationID, "revokedTokens": revoked})
}
