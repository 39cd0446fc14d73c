//! Both clients must open TLS themselves: without an HTTPS client the SDK fails before it
//! connects, and reqwest without a crypto provider panics while building.

use super::*;
use aws_config::Region;
use aws_sdk_dynamodb::config::Credentials;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// TLS record content type of a handshake message: a ClientHello starts with it.
const HANDSHAKE_RECORD: u8 = 0x16;

/// Listens once and returns the first byte the client sends; a client that never connects
/// fails the test after a few seconds instead of hanging it.
async fn first_byte_sent() -> (String, tokio::task::JoinHandle<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let first = tokio::spawn(async move {
        let accepted = tokio::time::timeout(Duration::from_secs(10), listener.accept());
        let (mut socket, _) = accepted
            .await
            .expect("the client connects")
            .expect("accept");
        socket.read_u8().await.expect("first byte")
    });
    (url, first)
}

#[tokio::test]
async fn reqwest_client_opens_tls() {
    let (url, first) = first_byte_sent().await;
    let client = https_client().build().expect("client builds");
    let request = tokio::spawn(async move { client.get(url).send().await });
    assert_eq!(first.await.expect("listener"), HANDSHAKE_RECORD);
    request.abort();
}

#[tokio::test]
async fn aws_sdk_client_opens_tls() {
    let (url, first) = first_byte_sent().await;
    let config = aws_config_loader()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tls-test"))
        .endpoint_url(url)
        .load()
        .await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let request = tokio::spawn(async move { dynamodb.list_tables().send().await });
    assert_eq!(first.await.expect("listener"), HANDSHAKE_RECORD);
    request.abort();
}
