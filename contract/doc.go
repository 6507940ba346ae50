// Package contract checks that the sync's clients and the APIs they call
// agree, three ways:
//
//   - Pact consumer tests (build tag pact) drive the generated clients of
//     sync/highlevelapi and sync/m360api against Pact's mock server and
//     write the Pact v4 files in pacts/.
//   - Verify replays those pacts against a provider: a twin in process (make
//     contract) or any base URL with real credentials (contactbridge
//     contract verify), setting up each provider state through the
//     provider's own public API and removing what it made afterwards.
//   - Check and Diff compare an API with its OpenAPI document, and two
//     documents with each other (contactbridge contract check, diff).
//
// The pact parts link libpact_ffi (scripts/pact-ffi.sh installs it); without
// the pact build tag the package builds and tests without it.
package contract
