"""Roll files as jobs: placeholder until the roll runners land."""
