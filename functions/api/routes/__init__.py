"""One Powertools Router per resource, wired into the resolver by app.py in the order of the OpenAPI document."""
