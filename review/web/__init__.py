"""The review and search web app (FastAPI, server-rendered Jinja2). Build it with `review.web.app.create_app`."""
