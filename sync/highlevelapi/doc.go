// Package highlevelapi is a client of the HighLevel Contacts API v2,
// generated from openapi/highlevel.yaml by oapi-codegen (highlevelapi.gen.go),
// with what a generator cannot give written by hand: paging iterators, typed
// errors from the API's error shapes, and the Version header each route asks
// for. It imports nothing from the twins: the spec is all they share.
package highlevelapi

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi/highlevel.yaml
