package config

// Parse reads no file: the files a config names (control.credentials_file)
// are read in a separate step, as Prometheus does with its *_file settings.
// Load does both.

// SetDirectory makes the relative file paths of the config relative to dir,
// the directory of the config file.
func (c *Config) SetDirectory(dir string) {
	c.Control.setDirectory(dir)
}

// LoadFiles reads the files the config names and checks their content with
// the rest of the config. Call SetDirectory first for a config read from a
// file.
func (c *Config) LoadFiles() error {
	return c.Control.loadFiles()
}
