"""The review and search web app (FastAPI, server-rendered Jinja2). Build it with `callreview.web.app.create_app`."""
