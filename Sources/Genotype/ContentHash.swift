/// Stable hashes of file contents, for provenance.
public enum ContentHash {
    /// SHA-256 of the UTF-8 bytes of `text` as 64 lowercase hex digits.
    ///
    /// For the text of a file this is what `sha256sum FILE` prints, so a `config_hash` in an
    /// architecture file can be checked against the run's `config.json` by hand.
    public static func sha256(_ text: String) -> String { SHA256.hex(text) }
}
