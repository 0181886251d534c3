"""Kestra's Pebble dialect on top of Jinja2: its syntax (translated to Jinja), its filters, tests and functions,
and Java's date patterns, so a flow written for Kestra renders as Kestra renders it."""
