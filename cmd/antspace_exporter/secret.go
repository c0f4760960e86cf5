package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// terminal is what --control.hash-secret needs of the terminal; tests
// replace it.
type terminal interface {
	IsTerminal(fd int) bool
	ReadPassword(fd int) ([]byte, error) // reads a line without echoing it
}

type realTerminal struct{}

func (realTerminal) IsTerminal(fd int) bool              { return term.IsTerminal(fd) }
func (realTerminal) ReadPassword(fd int) ([]byte, error) { return term.ReadPassword(fd) }

// secretInput is where --control.hash-secret reads the secret from. From a
// pipe or file it is standard input as it is. In a terminal the secret is
// asked for twice without echo (prompts on stderr, so stdout carries only
// the hash) and must match.
func secretInput(stdin *os.File, prompt io.Writer, t terminal) (io.Reader, error) {
	fd := int(stdin.Fd())
	if !t.IsTerminal(fd) {
		return stdin, nil
	}
	read := func(p string) ([]byte, error) {
		_, _ = fmt.Fprint(prompt, p) // a prompt that cannot be shown still lets the user type
		b, err := t.ReadPassword(fd)
		_, _ = fmt.Fprintln(prompt) // the Enter the user typed was not echoed either
		return b, err
	}
	first, err := read("Token or password to hash (not shown): ")
	if err != nil {
		return nil, fmt.Errorf("reading the secret: %w", err)
	}
	again, err := read("Again, to confirm: ")
	if err != nil {
		return nil, fmt.Errorf("reading the secret: %w", err)
	}
	if !bytes.Equal(first, again) {
		return nil, errors.New("the two entries differ; nothing hashed")
	}
	return bytes.NewReader(append(first, '\n')), nil
}
