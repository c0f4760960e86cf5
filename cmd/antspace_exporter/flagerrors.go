package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/alecthomas/kingpin/v2"
)

// flagError words a command-line error the way kingpin's own fatal errors
// are: the program name, the error, and where to look next. A value that
// does not parse names its flag and the value given (kingpin's error is
// only the parser's, e.g. strconv.ParseFloat: …).
func flagError(app *kingpin.Application, args []string, err error) string {
	if name, value, ok := badFlagValue(app, args); ok {
		var num *strconv.NumError
		switch {
		case errors.As(err, &num):
			err = fmt.Errorf("--%s: %q is not a number", name, value)
		case strings.HasPrefix(err.Error(), "time: "):
			err = fmt.Errorf("--%s: %q is not a duration; write a number with a unit, like 30s, 1m or 500ms", name, value)
		default:
			err = fmt.Errorf("--%s: %q: %w", name, value, err)
		}
	}
	return fmt.Sprintf("%s: error: %v, try --help", app.Name, err)
}

// badFlagValue finds the first flag whose value the parser refuses: kingpin
// tokenizes the arguments without setting any value, then each flag's value
// is set again in order, as Parse does.
func badFlagValue(app *kingpin.Application, args []string) (name, value string, ok bool) {
	ctx, err := app.ParseContext(args)
	if err != nil || ctx == nil {
		return "", "", false // a syntax error (unknown flag …) already says what is wrong
	}
	for _, el := range ctx.Elements {
		f, isFlag := el.Clause.(*kingpin.FlagClause)
		if !isFlag || el.Value == nil {
			continue
		}
		m := f.Model()
		if err := m.Value.Set(*el.Value); err != nil {
			return m.Name, *el.Value, true
		}
	}
	return "", "", false
}
