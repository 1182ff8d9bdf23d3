"""ONNX files as HTTP answers (a block's and a whole network's): the form asked for, the response."""

from fastapi import Response
from pydantic import BaseModel, Field

from ..service.export import FORMS, OnnxFile
from .caching import cache_control


class OnnxForm(BaseModel):
    form: str = Field("train", description="`train`: as built and trained (BatchNorm, RepVGG's three "
                                           "branches); `deploy`: the deploy-time form (every Conv+BN folded, "
                                           "RepVGG's branches merged into one 3x3 conv).",
                      json_schema_extra={"enum": list(FORMS)})


# What a route answering a file tells OpenAPI (its body is no JSON model).
ONNX_ROUTE = {"response_class": Response,
              "responses": {200: {"content": {"application/octet-stream": {}},
                                  "description": "The ONNX file, as an attachment."}}}


def onnx_response(file: OnnxFile) -> Response:
    return Response(file.content, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{file.filename}"',
                             "Cache-Control": cache_control()})
