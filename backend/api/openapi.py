"""OpenAPI 3.1 description generated from the route declarations and their pydantic schemas."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from backend.http.routing import PARTY, SIGNED, Endpoint, openapi_path
from backend.http.schemas import ErrorBody, Open311Errors

_REF = "#/components/schemas/{model}"
_ERROR_TEXT = {400: "请求格式错误", 401: "未认证", 403: "无权限", 404: "未找到", 409: "状态冲突",
               413: "请求体过大", 415: "请求体类型错误", 422: "参数校验失败", 429: "请求过于频繁"}


def build_openapi(endpoints: list[Endpoint], version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {}

    def add(name: str, schema: dict[str, Any]) -> None:
        # Two different models of one name would silently describe one response with the other's schema.
        if name in schemas and schemas[name] != schema:
            raise ValueError(f"two different schemas are both named {name}: rename one")
        schemas[name] = schema

    def ref(model: type[BaseModel], mode: str) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
        for def_name, definition in schema.pop("$defs", {}).items():
            add(def_name, definition)
        name = model.__name__.replace("[", "_").replace("]", "").replace(",", "_")
        add(name, schema)
        return {"$ref": _REF.format(model=name)}

    error_refs = {"house": ref(ErrorBody, "serialization"), "open311": ref(Open311Errors, "serialization")}
    paths: dict[str, Any] = {}
    for ep in endpoints:
        op: dict[str, Any] = {
            "summary": ep.summary,
            "operationId": ep.handler.__name__,
            "tags": [ep.tag] if ep.tag else [],
            "responses": {},
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _path_names(ep.path)
        ]
        if ep.query is not None:
            qschema = ep.query.model_json_schema(mode="validation", ref_template=_REF)
            schemas.update(qschema.pop("$defs", {}))  # enums used by query parameters
            required = set(qschema.get("required", []))
            for name, prop in qschema.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
        if params:
            op["parameters"] = params
        if ep.body is not None:
            # An empty body is read as {}: required only when some field is.
            body_required = any(f.is_required() for f in ep.body.model_fields.values())
            op["requestBody"] = {"required": body_required,
                                 "content": {"application/json": {"schema": ref(ep.body, "validation")}}}
        if ep.form is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": ref(ep.form, "validation")}}}
        if ep.upload is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"multipart/form-data": {"schema": ref(ep.upload, "validation")}}}
        if ep.raw_body is not None:
            op["requestBody"] = dict(ep.raw_body)
        success: dict[str, Any] = {"description": "成功"}
        if ep.response is not None:
            success["content"] = {"application/json": {"schema": ref(ep.response, "serialization")}}
        elif ep.produces:
            types = (ep.produces,) if isinstance(ep.produces, str) else ep.produces
            success["content"] = {t: {"schema": {"type": "string"}} for t in types}
        op["responses"][str(ep.status)] = success
        codes = set(ep.errors) | {400, 413, 415, 422} if ep.body or ep.upload or ep.form else set(ep.errors)
        if ep.raw_body is not None:
            codes |= {400, 413}
        if ep.query is not None:
            codes.add(422)
        if not isinstance(ep.access, str):  # roles, not PUBLIC
            codes |= {401, 403}
            op["security"] = [{"bearer": []}]
            if ep.errors_as == "open311":  # GeoReport's api_key parameter, or the header
                op["security"].append({"open311ApiKey": []})
            op["description"] = "可调用角色：" + "、".join(sorted(r.value for r in ep.access))
        elif ep.access == PARTY:
            codes |= {401}
            op["security"] = [{"mpSession": []}]
            op["description"] = ("小程序当事人：Authorization: Bearer <session_token>（POST /mp/v1/session 取得）；"
                                 "只能看到本人已绑定的案件，其他案件一律 404")
        elif ep.access == SIGNED:  # a provider's callback, signed with a secret shared with it
            codes |= {401}
            op["security"] = []
            op["description"] = ("微信消息推送：不用密钥或会话，以小程序后台「消息推送」的 Token 校验 signature"
                                 "（sha1(排序后的 token、timestamp、nonce)）；时间戳须在服务器时间前后 5 分钟内，"
                                 "同一 timestamp+nonce 只受理一次；配置 EncodingAESKey 后只受理安全模式"
                                 "（msg_signature 覆盖密文）")
        elif ep.session_optional:  # anonymous, or signed in to the mini-program
            codes |= {401}
            op["security"] = [{}, {"mpSession": []}]
            op["description"] = ("可匿名调用；带 Authorization: Bearer <session_token>（POST /mp/v1/session 取得）时"
                                 "以登录的微信用户本人实名调用，令牌无效或已过期则 401")
        else:
            op["security"] = []
        for code in sorted(codes):
            schema = error_refs[ep.errors_as]
            if ep.errors_as != "house" and code in (400, 431):
                # A request line or header the HTTP parser cannot take (too long, malformed) is refused
                # before any route is matched, so in the house shape whatever the path.
                schema = {"anyOf": [schema, error_refs["house"]]}
            content: dict[str, Any] = {"application/json": {"schema": schema}}
            if ep.produces == "text/html":  # browsers (Accept: text/html) get an HTML error page
                content["text/html"] = {"schema": {"type": "string"}}
            op["responses"][str(code)] = {"description": _ERROR_TEXT.get(code, "错误"), "content": content}
        paths.setdefault(openapi_path(ep.path), {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "阳光执法 Yangguang API", "version": version,
                 "description": "行政执法公示、全过程记录、重大执法决定法制审核的机构、监督与小程序接口。"},
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                           "open311ApiKey": {"type": "apiKey", "in": "query", "name": "api_key",
                                                             "description": "Open311：对接系统密钥（POST 为表单字段）"},
                                           "mpSession": {"type": "http", "scheme": "bearer",
                                                         "description": "小程序会话令牌（mps_…）"}}},
    }


def _path_names(path: str) -> list[str]:
    return re.findall(r"\{(\w+)", path)
