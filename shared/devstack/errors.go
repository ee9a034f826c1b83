package devstack

import "errors"

// MissingError reports a prerequisite that is not on this machine and how to
// install it. Its message is one line, for example
// "DynamoDB Local needs Java 17 or newer: apt-get install openjdk-17-jre-headless".
type MissingError struct {
	What    string // what needs it and what is missing
	Install string // the command or step that installs it
}

func (e *MissingError) Error() string { return e.What + ": " + e.Install }

// IsMissing reports whether err is, or wraps, a [*MissingError].
func IsMissing(err error) bool {
	var m *MissingError
	return errors.As(err, &m)
}
