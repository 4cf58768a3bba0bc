"""What every web request shares: htmx helpers, templating, security headers, the access log
and the language choice. Views use these; services and jobs never do."""
