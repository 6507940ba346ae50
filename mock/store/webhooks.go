package store

import (
	"slices"
	"strings"
)

// The webhook subscriptions of both APIs live here, as tables of the store:
// they are in its State, so export, import, a state file and reset treat
// both alike. A HighLevel subscription is an app's (its webhook URL in the
// Marketplace app settings); a Marketing 360 one is an account's.

// Webhook is a HighLevel app's webhook subscription: the app's webhook URL,
// and the events it narrows to (none: every event the app's scopes allow).
type Webhook struct {
	ClientID string   `json:"clientId" yaml:"clientId"`
	URL      string   `json:"url" yaml:"url"`
	Events   []string `json:"events,omitempty" yaml:"events,omitempty"`
}

// Receives tells whether the subscription is sent event.
func (w Webhook) Receives(event string) bool {
	return len(w.Events) == 0 || slices.Contains(w.Events, event)
}

func cloneWebhook(w Webhook) Webhook {
	w.Events = slices.Clone(w.Events)
	return w
}

// SetWebhook makes w.ClientID's subscription w, replacing the one it had;
// a w without a URL drops it.
func (s *Store) SetWebhook(w Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.URL == "" {
		delete(s.hl.webhooks, w.ClientID)
		return
	}
	s.hl.webhooks[w.ClientID] = cloneWebhook(w)
}

// Webhook returns an app's subscription.
func (s *Store) Webhook(clientID string) (Webhook, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	w, ok := s.hl.webhooks[clientID]
	return cloneWebhook(w), ok
}

// Webhooks lists the HighLevel subscriptions by client id (nil for none).
func (s *Store) Webhooks() []Webhook {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.hl.webhooks) == 0 {
		return nil
	}
	return byKey(s.hl.webhooks, cloneWebhook)
}

// restoreWebhooks loads the HighLevel subscriptions of st into a reset
// store, adding to p one without a client id or URL, or an app's second.
// Callers hold mu.
func (s *Store) restoreWebhooks(list []Webhook, p *problems) {
	for i, w := range list {
		switch _, dup := s.hl.webhooks[w.ClientID]; {
		case w.ClientID == "":
			p.add("webhooks", i, "", "clientId", "is required")
		case dup:
			p.add("webhooks", i, w.ClientID, "clientId", "is used twice")
		case strings.TrimSpace(w.URL) == "":
			p.add("webhooks", i, w.ClientID, "url", "is empty")
		default:
			s.hl.webhooks[w.ClientID] = cloneWebhook(w)
		}
	}
}

// CreateM360Webhook adds a webhook subscription to w.AccountID.
func (s *Store) CreateM360Webhook(w M360Webhook) (M360Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.m360Account(w.AccountID); err != nil {
		return M360Webhook{}, err
	}
	w = w.clone()
	w.Created = s.m360Now()
	w = s.m360.webhooks.add(w)
	return w.clone(), nil
}

// M360Webhook returns a webhook subscription of account.
func (s *Store) M360Webhook(account, id int64) (M360Webhook, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	w, ok := s.m360.webhooks.get(account, id)
	if !ok {
		return M360Webhook{}, m360NotFound("Webhook", id)
	}
	return w.clone(), nil
}

// M360Webhooks returns a page of account's webhook subscriptions, by id, and
// how many it has.
func (s *Store) M360Webhooks(account int64, p M360Paging) ([]M360Webhook, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.m360Account(account); err != nil {
		return nil, 0, err
	}
	page, total := m360Page(s.m360.webhooks.selectIn(account, nil), p)
	return page, total, nil
}

// AllM360Webhooks returns every account's webhook subscriptions, by id.
func (s *Store) AllM360Webhooks() []M360Webhook {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m360.webhooks.all()
}

// M360Subscribers returns account's webhook subscriptions to event, by id,
// with their secrets.
func (s *Store) M360Subscribers(account int64, event string) []M360Webhook {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m360.webhooks.selectIn(account, func(w M360Webhook) bool { return slices.Contains(w.Events, event) })
}

// DeleteM360Webhook removes a webhook subscription of account.
func (s *Store) DeleteM360Webhook(account, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m360.webhooks.get(account, id); !ok {
		return m360NotFound("Webhook", id)
	}
	s.m360.webhooks.remove(id)
	return nil
}
