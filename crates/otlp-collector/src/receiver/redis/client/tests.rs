use super::*;

async fn reply(bytes: &[u8]) -> Result<Reply, String> {
    read_reply(&mut &bytes[..]).await
}

#[tokio::test]
async fn replies_of_each_kind_are_read() {
    assert_eq!(reply(b"+OK\r\n").await, Ok(Reply::Simple("OK".into())));
    assert_eq!(
        reply(b"-WRONGPASS invalid username-password pair\r\n").await,
        Ok(Reply::Error(
            "WRONGPASS invalid username-password pair".into()
        ))
    );
    assert_eq!(
        reply(b"$5\r\na:1\r\n\r\n").await,
        Ok(Reply::Bulk("a:1\r\n".into()))
    );
    assert_eq!(reply(b"$0\r\n\r\n").await, Ok(Reply::Bulk(String::new())));
}

#[tokio::test]
async fn hostile_or_broken_replies_are_errors_not_panics() {
    for bytes in [
        &b""[..],
        b"+OK",
        b"$-1\r\n",
        b"$abc\r\n",
        b"$10\r\nshort\r\n",
        b"$3\r\nabcde",
        b"$99999999999\r\n",
        b":42\r\n",
        b"*1\r\n$4\r\nINFO\r\n",
    ] {
        assert!(
            reply(bytes).await.is_err(),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}
