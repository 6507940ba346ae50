package limits

// BucketCount returns the number of buckets l holds, live or not.
func BucketCount(l *Limiter) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// LeakyBucketCount returns the number of buckets l holds, live or not.
func LeakyBucketCount(l *Leaky) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
