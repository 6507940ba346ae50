// Package logkey holds the keys of the project's structured log records
// (log/slog), so that one thing is logged under one spelling everywhere: an
// error is always logkey.Err ("err"), never "error" in one place and "err"
// in another.
package logkey

// The keys. Values logged under Err are errors or the reason a remote API
// gave; secrets are never logged under any key.
const (
	Err    = "err"    // an error, or the reason a request was refused
	Kind   = "kind"   // the kind of record (fixtures' hl.contact, m360.task, ...)
	Source = "source" // a record's id in its data set
	Status = "status" // an HTTP status code

	API     = "api"     // which API a webhook or call is of: hl, m360
	Entity  = "entity"  // the id of the record an event is about
	Event   = "event"   // a webhook event's type (ContactCreate, task.completed)
	EventID = "eventId" // a webhook event's id (webhookId, delivery id)
	Job     = "job"     // a queue job's id
	Tenant  = "tenant"  // a HighLevel location or Marketing 360 account
)
