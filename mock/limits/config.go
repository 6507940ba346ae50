package limits

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
)

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("limits: invalid config")

// Daily reset modes.
const (
	// DailyResetUTC resets every daily quota at midnight UTC.
	DailyResetUTC = "utc"
	// DailyResetRolling resets a daily quota 24 hours after the first request
	// of its period.
	DailyResetRolling = "rolling"
)

// Defaults of the live HighLevel API.
const (
	DefaultBurst    = 100
	DefaultInterval = 10 * time.Second
	DefaultDaily    = 200_000
)

// Limit is one set of limits.
type Limit struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// Burst is the number of requests allowed per Interval.
	Burst    int            `json:"burst" yaml:"burst"`
	Interval clock.Duration `json:"interval" yaml:"interval"`
	// Daily is the number of requests allowed per day.
	Daily int `json:"daily" yaml:"daily"`
}

// Bounds of a Limit: a window longer than the daily one means nothing, and a
// count past MaxCount is no limit a client can reach.
const (
	MaxInterval = 24 * time.Hour
	MaxCount    = 1 << 40
)

// Validate checks an enabled limit; a disabled one is always valid.
func (l Limit) Validate() error {
	if !l.Enabled {
		return nil
	}
	var errs []error
	if l.Burst < 1 || l.Burst > MaxCount {
		errs = append(errs, fmt.Errorf("burst %d: must be between 1 and %d", l.Burst, MaxCount))
	}
	if l.Interval.Std() < time.Millisecond || l.Interval.Std() > MaxInterval {
		errs = append(errs, fmt.Errorf("interval %s: must be between 1ms and %s", l.Interval, MaxInterval))
	}
	if l.Daily < 1 || l.Daily > MaxCount {
		errs = append(errs, fmt.Errorf("daily %d: must be between 1 and %d", l.Daily, MaxCount))
	}
	return errors.Join(errs...)
}

// Config sets the limits of a Limiter.
type Config struct {
	// Limit holds the defaults for every location.
	Limit `yaml:",inline"`
	// DailyReset is DailyResetUTC (also when empty) or DailyResetRolling.
	DailyReset string `json:"dailyReset" yaml:"dailyReset"`
	// RetryAfter sends Retry-After with every 429.
	RetryAfter bool `json:"retryAfter" yaml:"retryAfter"`
	// Locations override the defaults per location id; each is a full Limit
	// (Enabled false turns limits off there).
	Locations map[string]Limit `json:"locations,omitempty" yaml:"locations,omitempty"`
}

// DefaultConfig returns the live API's limits: 100 requests per 10 seconds
// and 200,000 per UTC day, per app and location, with Retry-After.
func DefaultConfig() Config {
	return Config{
		Limit:      Limit{Enabled: true, Burst: DefaultBurst, Interval: clock.Duration(DefaultInterval), Daily: DefaultDaily},
		DailyReset: DailyResetUTC,
		RetryAfter: true,
	}
}

// Validate reports every problem of c; the error wraps ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	switch c.DailyReset {
	case "", DailyResetUTC, DailyResetRolling:
	default:
		errs = append(errs, fmt.Errorf("dailyReset %q: want %q or %q", c.DailyReset, DailyResetUTC, DailyResetRolling))
	}
	if err := c.Limit.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, id := range slices.Sorted(maps.Keys(c.Locations)) {
		if err := c.Locations[id].Validate(); err != nil {
			errs = append(errs, fmt.Errorf("location %s: %w", id, err))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
}

// limitFor returns the limit of a location.
func (c *Config) limitFor(location string) Limit {
	if l, ok := c.Locations[location]; ok {
		return l
	}
	return c.Limit
}

// clone copies c for a limiter to keep, with an empty DailyReset spelled out.
func (c Config) clone() Config {
	c.Locations = maps.Clone(c.Locations)
	if c.DailyReset == "" {
		c.DailyReset = DailyResetUTC
	}
	return c
}
