extension JSONValue {
    /// JSON text of the value, written by json-c.
    ///
    /// Compact output has no spaces at all (one value per line suits JSON-lines files); pretty
    /// output indents by two spaces. Slashes are not escaped. Integers print as integers and
    /// doubles as the shortest text that reads back to the same `Double` (`0.1`, `1e-05`, `2.0`),
    /// so `parse(serialized())` returns an equal value. NaN and infinities, which JSON cannot
    /// express, are written as `null`. Of duplicate keys in a value built in code, the last wins.
    ///
    /// - Parameter pretty: indent nested values on their own lines.
    /// - Returns: the JSON text, without a trailing newline.
    public func serialized(pretty: Bool = false) -> String {
        CJSON.serialize(self, pretty: pretty)
    }
}
