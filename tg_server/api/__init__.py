"""One module per resource; each defines `routes`, a web.RouteTableDef added by app.py."""
