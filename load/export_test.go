package load

// The external tests (package load_test) run plans through real clients,
// which import this package; these give them the plan's arithmetic.

// ScheduleOf is cfg's open-loop schedule (nil for a closed loop).
func ScheduleOf(cfg *Config) (Schedule, error) {
	s, _, err := cfg.schedule()
	return s, err
}

// WarmCount is how many requests of s fall in the first w.
var WarmCount = warmCount
