using System.Text.Json.Nodes;

namespace MobileUNet.Data;

/// <summary>
/// Per-channel normalisation applied to RGB values scaled to [0, 1]: (v - mean) / std. Recorded with a model
/// (weights file, ONNX metadata) so inference repeats exactly what training did.
/// </summary>
public sealed record Normalization(float[] Mean, float[] Std)
{
    /// <summary>ImageNet statistics: the usual choice for a MobileNet encoder.</summary>
    public static Normalization ImageNet { get; } = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>RGB scaled to [0, 1] and nothing else: what MediaPipe's segmenters take.</summary>
    public static Normalization UnitRange { get; } = new([0f, 0f, 0f], [1f, 1f, 1f]);

    /// <summary>
    /// Interleaved 8-bit pixels (RGB when <paramref name="channels"/> is 3, RGBA or RGBX when 4; alpha ignored),
    /// already at the model's S x S, to planar normalised floats [3, S, S].
    /// </summary>
    public void ToChw(ReadOnlySpan<byte> pixels, int channels, Span<float> chw)
    {
        if (channels is not (3 or 4)) throw new ArgumentOutOfRangeException(nameof(channels), "pixels must have 3 or 4 channels");
        int count = pixels.Length / channels;
        if (chw.Length < 3 * count) throw new ArgumentException("chw buffer is smaller than 3 x pixel count", nameof(chw));
        // Fold the /255, the mean and the std into one multiply-add per value.
        Span<float> scale = [1f / (255f * Std[0]), 1f / (255f * Std[1]), 1f / (255f * Std[2])];
        Span<float> offset = [-Mean[0] / Std[0], -Mean[1] / Std[1], -Mean[2] / Std[2]];
        var r = chw[..count];
        var g = chw.Slice(count, count);
        var b = chw.Slice(2 * count, count);
        for (int i = 0, p = 0; i < count; i++, p += channels)
        {
            r[i] = pixels[p] * scale[0] + offset[0];
            g[i] = pixels[p + 1] * scale[1] + offset[1];
            b[i] = pixels[p + 2] * scale[2] + offset[2];
        }
    }

    public JsonObject ToJson() => new()
    {
        ["mean"] = new JsonArray(Mean.Select(v => JsonValue.Create(v)).ToArray<JsonNode?>()),
        ["std"] = new JsonArray(Std.Select(v => JsonValue.Create(v)).ToArray<JsonNode?>()),
    };

    public static Normalization FromJson(JsonNode node) => new Normalization(
        node["mean"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray(),
        node["std"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray()).Checked();

    /// <summary>This normalisation when usable: three finite means and three finite, positive stds (a std of 0 divides by zero).</summary>
    public Normalization Checked() =>
        Mean.Length != 3 || Std.Length != 3 ? throw new ArgumentException($"normalization needs 3 means and 3 stds, got {Mean.Length} and {Std.Length}.")
        : !Mean.All(float.IsFinite) ? throw new ArgumentException("normalization mean is not finite.")
        : !Std.All(s => float.IsFinite(s) && s > 0) ? throw new ArgumentException($"normalization std must be positive and finite, got [{string.Join(", ", Std.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)))}].")
        : this;

    public bool Equals(Normalization? other) =>
        other is not null && Mean.AsSpan().SequenceEqual(other.Mean) && Std.AsSpan().SequenceEqual(other.Std);

    public override int GetHashCode() => HashCode.Combine(Mean.Length > 0 ? Mean[0] : 0, Std.Length > 0 ? Std[0] : 0);
}
