// Package m360api is a client of the Marketing 360 API, generated from
// openapi/marketing360.yaml by oapi-codegen (m360api.gen.go), with paging
// iterators and typed errors written by hand. It imports nothing from the
// twins: the spec is all they share.
package m360api

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi/marketing360.yaml
