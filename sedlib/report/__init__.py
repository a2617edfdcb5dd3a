"""What only the book's chapters use: tables, figures, widgets and generated prose."""
