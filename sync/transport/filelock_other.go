//go:build !unix

package transport

// lockFile is a no-op where flock is not available: the in-process mutex
// and the generation check still hold within one process.
func lockFile(string) (func(), error) { return func() {}, nil }
