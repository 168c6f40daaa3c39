"""What the agency API (backend.api) and the citizen surface (miniprogram_api) share: declarative
routes with their access policy and schemas, the base request/response schemas, the middlewares."""
