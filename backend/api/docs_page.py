"""The browsable API description at /api/docs: the OpenAPI document rendered to one static HTML page.

Rendered on the server from the same description as /api/openapi.json, with inline CSS and no
scripts, fonts or CDN: it works offline and behind a strict Content-Security-Policy. Each
operation shows who may call it, its parameters, its request body and its responses as field
tables, with an example body (the schema's own example, or one built from the field types).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

_CSS = (
    "body{font-family:-apple-system,'PingFang SC','Noto Sans CJK SC',sans-serif;margin:0;color:#1d2129;"
    "line-height:1.5}header{background:#165dff;color:#fff;padding:16px 24px}main{display:flex}"
    "nav{width:280px;padding:12px;border-right:1px solid #e5e6eb;font-size:14px;position:sticky;top:0;"
    "height:100vh;overflow:auto}nav a{display:block;color:#1d2129;text-decoration:none;padding:2px 0}"
    "article{flex:1;padding:12px 24px;max-width:1000px}section.op{border:1px solid #e5e6eb;border-radius:8px;"
    "margin:0 0 16px;padding:12px}code,pre{font-family:ui-monospace,Menlo,monospace;font-size:13px}"
    "pre{background:#f7f8fa;padding:8px;overflow:auto;border-radius:6px}.m{display:inline-block;min-width:56px;"
    "font-weight:bold;color:#fff;border-radius:4px;padding:0 6px;text-align:center}.get{background:#00b42a}"
    ".post{background:#165dff}.put{background:#c25e00}.patch{background:#722ed1}.delete{background:#f53f3f}"
    "table{border-collapse:collapse;width:100%;font-size:14px;margin:4px 0}td,th{border-bottom:1px solid "
    "#e5e6eb;padding:4px;text-align:left;vertical-align:top}.muted{color:#86909c}details{margin:4px 0}"
)


def render_docs(spec: dict[str, Any]) -> str:
    schemas = spec.get("components", {}).get("schemas", {})
    nav: list[str] = []
    body: list[str] = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            anchor = f"{method}-{op.get('operationId', '')}"
            nav.append(f"<a href='#{escape(anchor)}'><code>{method.upper()}</code> {escape(path)}</a>")
            body.append(_operation(anchor, method, path, op, schemas))
    info = spec["info"]
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(info['title'])} 接口文档</title><style>{_CSS}</style></head><body>"
        f"<header><h1 style='margin:0;font-size:22px'>{escape(info['title'])} 接口文档 "
        f"<small>{escape(info['version'])}</small></h1><p style='margin:4px 0 0'>{escape(info.get('description', ''))}"
        "</p></header><main><nav>" + "".join(nav) + "</nav><article>"
        "<p>机器可读版本：<a href='/api/openapi.json'>/api/openapi.json</a>。机构接口在请求头中携带 "
        "<code>Authorization: Bearer &lt;密钥&gt;</code>；错误统一为 "
        "<code>{\"error\": {\"code\": \"…\", \"message\": \"…\"}}</code>，code 稳定，message 为中文。</p>"
        + "".join(body) + "</article></main></body></html>"
    )


def _operation(anchor: str, method: str, path: str, op: dict[str, Any], schemas: dict[str, Any]) -> str:
    parts = [f"<section class='op' id='{escape(anchor)}'><h2 style='font-size:17px;margin:0 0 6px'>"
             f"<span class='m {method}'>{method.upper()}</span> <code>{escape(path)}</code></h2>"
             f"<p>{escape(op.get('summary', ''))}</p>"
             f"<p class='muted'>{escape(op.get('description', '公开接口，无需密钥'))}</p>"]
    params = op.get("parameters", [])
    if params:
        rows = "".join(
            f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
            f"<td>{'是' if p.get('required') else '否'}</td><td>{_type(p.get('schema', {}), schemas)}</td>"
            f"<td>{escape(str(p.get('schema', {}).get('description', '')))}</td></tr>" for p in params)
        parts.append("<h3>参数</h3><table><tr><th>名称</th><th>位置</th><th>必填</th><th>类型</th><th>说明</th></tr>"
                     f"{rows}</table>")
    for media_type, request in op.get("requestBody", {}).get("content", {}).items():
        if media_type in ("application/json", "multipart/form-data"):
            parts.append(f"<h3>请求体 <small class='muted'>{escape(media_type)}</small></h3>"
                         + _schema_block(request["schema"], schemas))
    parts.append("<h3>响应</h3>")
    for status, response in op.get("responses", {}).items():
        content = response.get("content", {})
        kinds = ", ".join(content) or "无内容"
        inner = ""
        if "application/json" in content:
            inner = _schema_block(content["application/json"]["schema"], schemas)
        parts.append(f"<details{' open' if status.startswith('2') else ''}><summary><code>{escape(status)}</code> "
                     f"{escape(response.get('description', ''))} <small class='muted'>{escape(kinds)}</small>"
                     f"</summary>{inner}</details>")
    parts.append("</section>")
    return "".join(parts)


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 20:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
        seen += 1
    return schema


def _type(schema: dict[str, Any], schemas: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = _resolve(schema, schemas)
        if "enum" in target:
            return "、".join(f"<code>{escape(str(v))}</code>" for v in target["enum"])
        return f"<code>{escape(name)}</code>"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " 或 ".join(_type(s, schemas) for s in schema[key])
    if "enum" in schema:
        return "、".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    if "const" in schema:
        return f"<code>{escape(str(schema['const']))}</code>"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"数组：{_type(schema.get('items', {}), schemas)}"
    fmt = f" ({schema['format']})" if "format" in schema else ""
    limits = [f"{k} {schema[k]}" for k in ("minLength", "maxLength", "minimum", "maximum", "pattern")
              if k in schema]
    return f"<code>{escape(str(kind) + fmt)}</code>" + (f" <small class='muted'>{escape(', '.join(limits))}</small>"
                                                        if limits else "")


def _fields(schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0) -> str:
    schema = _resolve(schema, schemas)
    props = schema.get("properties", {})
    if not props or depth > 3:
        return ""
    required = set(schema.get("required", []))
    rows = []
    for name, prop in props.items():
        target = _resolve(prop, schemas)
        desc = prop.get("description") or target.get("description", "")
        nested = ""
        item = target.get("items", {}) if target.get("type") == "array" else None
        inner = _resolve(item, schemas) if item is not None else target
        if inner.get("properties"):
            nested = _fields(inner, schemas, depth + 1)
        rows.append(f"<tr><td><code>{escape(name)}</code></td><td>{'是' if name in required else '否'}</td>"
                    f"<td>{_type(prop, schemas)}</td><td>{escape(str(desc))}{nested}</td></tr>")
    return ("<table><tr><th>字段</th><th>必填</th><th>类型</th><th>说明</th></tr>" + "".join(rows) + "</table>")


def _schema_block(schema: dict[str, Any], schemas: dict[str, Any]) -> str:
    example = json.dumps(example_of(schema, schemas), ensure_ascii=False, indent=2)
    return _fields(schema, schemas) + f"<p class='muted'>示例：</p><pre>{escape(example)}</pre>"


def example_of(schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0) -> Any:
    """The schema's own example when it has one, else a value built from the field types."""
    schema = _resolve(schema, schemas)
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if depth > 6:
        return None
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example_of(options[0], schemas, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        if props:
            return {name: example_of(prop, schemas, depth + 1) for name, prop in props.items()}
        extra = schema.get("additionalProperties")
        return {"key": example_of(extra, schemas, depth + 1)} if isinstance(extra, dict) else {}
    if kind == "array":
        return [example_of(schema.get("items", {}), schemas, depth + 1)]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    if kind == "string":
        return {"uuid": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10", "date": "2026-11-20",
                "date-time": "2026-11-20T09:30:00+08:00", "uri": "https://example.gov.cn/"}.get(
            schema.get("format", ""), "文本")
    return None
