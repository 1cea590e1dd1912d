package models

import (
	"errors"
	"fmt"
)

// ConfigError reports a configuration value that cannot be used. Key names
// the setting (as in the YAML file), Problem says what is wrong and the fix.
type ConfigError struct {
	Key     string
	Problem string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("%s %s", e.Key, e.Problem) }

// ModelError reports a model that failed to build. It names the model and
// the build mode; the wrapped error is DuckDB's, which quotes SQL but never
// row values.
type ModelError struct {
	Model string
	Mode  string // "full" or "incremental"
	Err   error
}

func (e *ModelError) Error() string {
	return fmt.Sprintf("building model %s (%s): %v", e.Model, e.Mode, e.Err)
}

func (e *ModelError) Unwrap() error { return e.Err }

// errNoEvents is returned internally when the events table does not exist.
var errNoEvents = errors.New("the events table does not exist; open the warehouse (warehouse.Open) before building models")
