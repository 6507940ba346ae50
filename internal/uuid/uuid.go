// Package uuid shapes random hex digits as UUIDs, the form the vendors give
// their tokens, secrets and event ids.
package uuid

// Format returns the first 32 characters of hex (which must have that many)
// as a UUID: 8-4-4-4-12, joined by "-".
func Format(hex string) string {
	return hex[:8] + "-" + hex[8:12] + "-" + hex[12:16] + "-" + hex[16:20] + "-" + hex[20:32]
}
