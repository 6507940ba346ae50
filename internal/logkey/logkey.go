// Package logkey holds the keys of the project's structured log records
// (log/slog), so that one thing is logged under one spelling everywhere: an
// error is always logkey.Err ("err"), never "error" in one place and "err"
// in another.
package logkey

// The keys. Values logged under Err are errors or the reason a remote API
// gave; secrets are never logged under any key.
const (
	Err       = "err"       // an error, or the reason a request was refused
	Component = "component" // the part of a program that logs (Logger.With)
	Count     = "count"     // how many of what the message names

	// Records and data sets.
	Kind   = "kind"   // the kind of record (fixtures' hl.contact, m360.task, ...)
	Source = "source" // a record's id in its data set
	Data   = "data"   // what a twin started with (a scenario, a state file)

	// HTTP exchanges.
	Method    = "method"    // an HTTP method
	Path      = "path"      // a request's path
	URL       = "url"       // a request's URL (redacted: no query secrets, no user info)
	Status    = "status"    // an HTTP status code
	Duration  = "duration"  // how long a request took
	Operation = "operation" // the spec's operation id
	Spec      = "spec"      // the file of the spec a pipeline serves

	// Panics.
	Panic = "panic" // what a handler panicked with
	Stack = "stack" // the goroutine's stack at the panic

	// Webhooks.
	Event    = "event"    // a webhook event's type
	EventID  = "eventId"  // a webhook event's id
	Delivery = "delivery" // a webhook delivery's id
	Target   = "target"   // where a delivery goes (without its query)
	Attempts = "attempts" // how many attempts a delivery had
	Spool    = "spool"    // the file pending deliveries are kept in

	// Faults.
	Rule = "rule" // a fault rule's id; a campaign rule's name (the sync's flow 5)

	// The twins' start-up line.
	HighLevel = "highlevel" // the HighLevel twin's base URL
	M360      = "m360"      // the Marketing 360 twin's base URL
	Strict    = "strict"    // whether responses are checked against the spec
	Limits    = "limits"    // whether the rate limits are on

	// The sync.
	API    = "api"    // which API a webhook or call is of: hl, m360
	Entity = "entity" // the id of the record an event is about
	Job    = "job"    // a queue job's id
	Tenant = "tenant" // a HighLevel location or Marketing 360 account
	Effect = "effect" // an effect's key in the sync's ledger (welcome-note:<hlContactId>)
	Parent = "parent" // the record an entity belongs to (a task's or a note's contact)
	DB     = "db"     // the sync's database file
)
