from __future__ import annotations

from models_api.errors import BadRequest
from models_api.server_errors import error_message


def test_the_servers_own_answer_declares_its_length_once() -> None:
    # Arrange
    error = BadRequest("Malformed HTTP request.")

    # Act
    message = error_message(error, "req-1")

    # Assert
    head, _, body = message.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 400 Bad Request"
    lengths = [line for line in lines[1:] if line.lower().startswith("content-length:")]
    assert lengths == [f"Content-Length: {len(body)}"]
    assert lines[-1] == "Connection: close"
