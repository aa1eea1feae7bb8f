"""The API's JSON parser: DRF's, plus the depth limit of portal.inputs (a body nested a thousand levels
deep is a 400 naming the limit, not a RecursionError)."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from portal.inputs import TOO_DEEP, InputError, depth_check


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - {TOO_DEEP}") from None
        try:
            depth_check(data)
        except InputError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        return data
