package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/contactbridge/contactbridge/sync/engine"
)

// ErrEvent is what an error of (*Catalog).Event is: a body that is not a
// webhook of either twin's catalog.
var ErrEvent = errors.New("rules: not a webhook of either API")

// hlEnvelope are the fields of a HighLevel webhook body that are not the
// entity's.
var hlEnvelope = []string{"type", "companyId", "appId", "versionId", "webhookId", "timestamp"}

// Event reads a recorded webhook body, as either twin sends it, into the
// change the rules see: its trigger from its type, its entity the payload
// (data for Marketing 360, the appointment of an appointment event, the
// fields without the envelope otherwise), the entity as its own contact
// for a contact event. webhookID is the delivery's id.
func (c *Catalog) Event(body []byte) (in engine.RuleInput, webhookID string, err error) {
	if len(body) > MaxFileBytes {
		return in, "", fmt.Errorf("%w: larger than %d bytes", ErrEvent, MaxFileBytes)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return in, "", fmt.Errorf("%w: %v", ErrEvent, err)
	}
	typ, _ := m["type"].(string)
	if typ == "" {
		return in, "", fmt.Errorf("%w: the body has no type", ErrEvent)
	}
	data, isM360 := m["data"].(map[string]any)
	var record map[string]any
	switch {
	case isM360 && strings.Contains(typ, "."):
		in.Trigger = APIM360 + "." + typ
		record = data
		webhookID, _ = m["id"].(string)
		in.Version = text(record["updated"])
		if a, ok := m["accountId"]; ok {
			in.Location = text(a)
		}
	default:
		in.Trigger = APIHighLevel + "." + typ
		webhookID, _ = m["webhookId"].(string)
		in.Location, _ = m["locationId"].(string)
		if a, ok := m["appointment"].(map[string]any); ok {
			record = a
		} else {
			record = make(map[string]any, len(m))
			for k, v := range m {
				record[k] = v
			}
			for _, k := range hlEnvelope {
				delete(record, k)
			}
		}
		in.Version = text(record["dateUpdated"])
		if in.Version == "" {
			in.Version, _ = m["timestamp"].(string)
		}
	}
	t, ok := c.triggers[in.Trigger]
	if !ok {
		return in, webhookID, fmt.Errorf("%w: %s is no trigger of the catalog", ErrEvent, in.Trigger)
	}
	in.Entity, in.Record, in.ID = t.kind, record, text(record["id"])
	if t.kind == engine.EntityContact {
		in.Contact = record
	}
	return in, webhookID, nil
}

// text is a JSON scalar as text: ids and versions.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
	}
	return fmt.Sprint(v)
}
