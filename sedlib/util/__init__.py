"""Small helpers with no science in them: atomic files, JSON, file locks, parallel jobs, kernel waits."""
