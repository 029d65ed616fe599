"""What ships to Lambda: every module in this folder, and nothing else of zappa_eager.

``handler.py`` is copied to the package root (Lambda's handler stays ``handler.lambda_handler``);
the rest ships as ``zappa_eager/runtime/``. These modules import only the standard library,
zappa's handler path, boto3/botocore (only where INIT needs S3) and each other: never the
tooling beside this folder (tests/runtime/test_runtime_imports.py).
"""
