using System.Text.Json.Serialization;

namespace MobileUNet.Model;

/// <summary>How the decoder doubles resolution between stages.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Upsampling>))]
public enum Upsampling
{
    /// <summary>2x2 transposed convolution, stride 2, with bias: the original MobileUNet.</summary>
    TransposedConv,
    /// <summary>Bilinear resize x2, then a 3x3 convolution (with bias) to the same width.</summary>
    BilinearConv,
    /// <summary>Nearest resize x2, then a 3x3 convolution (with bias): for devices without a fast transposed conv.</summary>
    NearestConv,
}

/// <summary>
/// The knobs of one MobileUNet: width multiplier <see cref="Alpha"/> for the encoder (and the decoder's
/// upsampling widths), <see cref="AlphaUp"/> for the decoder's block widths, input size, decoder upsampling.
/// Invalid values are refused when set, so every spec that exists describes a buildable network.
/// </summary>
public sealed record ModelSpec
{
    readonly double alpha = 1.0;
    readonly double? alphaUp;
    readonly int inputSize = 224;
    readonly string? architecture;

    public ModelSpec(double alpha, int inputSize, Upsampling upsampling = Upsampling.TransposedConv, double? alphaUp = null)
    {
        Alpha = alpha;
        InputSize = inputSize;
        Upsampling = upsampling;
        if (alphaUp is { } up) AlphaUp = up;
    }

    [JsonConstructor]
    ModelSpec() { }

    /// <summary>Width multiplier in (0, 1]: every encoder width n becomes floor(n * alpha).</summary>
    public double Alpha { get => alpha; init => alpha = CheckAlpha(value, nameof(Alpha)); }

    /// <summary>Decoder width multiplier in (0, 1], applied on top of alpha; defaults to <see cref="Alpha"/>.</summary>
    public double AlphaUp { get => alphaUp ?? alpha; init => alphaUp = CheckAlpha(value, nameof(AlphaUp)); }

    /// <summary>Square input side in pixels: a multiple of 32 (five stride-2 stages), 32..<see cref="Platform.Limits.MaxInputSize"/>.</summary>
    public int InputSize { get => inputSize; init => inputSize = CheckSize(value); }

    public Upsampling Upsampling { get; init; } = Upsampling.TransposedConv;

    /// <summary>
    /// Null for a MobileUNet; otherwise the name of another network that runs as ONNX only (a model imported from
    /// TFLite, e.g. MediaPipe selfie): only <see cref="InputSize"/> then describes it, and torch cannot build it.
    /// Left out of the JSON when null, so every MobileUNet spec reads and writes as before.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Architecture { get => architecture; init => architecture = CheckArchitecture(value); }

    /// <summary>Whether this spec describes a MobileUNet (which torch can build, train and export).</summary>
    [JsonIgnore]
    public bool IsMobileUNet => architecture is null;

    /// <summary>Encoder width c(n) = floor(n * alpha), at least one channel.</summary>
    public int C(int n) => Scale(n, Alpha);

    /// <summary>Decoder width u(n) = floor(c(n) * alpha_up), at least one channel.</summary>
    public int U(int n) => Scale(C(n), AlphaUp);

    /// <summary>A short label for tables and file names, e.g. "a0.5-s128" or "a1-s224-bilinear".</summary>
    public string Label
    {
        get
        {
            if (architecture is not null) return FormattableString.Invariant($"{architecture}-s{InputSize}");
            var label = FormattableString.Invariant($"a{Alpha:0.###}-s{InputSize}");
            if (AlphaUp != Alpha) label += FormattableString.Invariant($"-up{AlphaUp:0.###}");
            return Upsampling switch
            {
                Upsampling.BilinearConv => label + "-bilinear",
                Upsampling.NearestConv => label + "-nearest",
                _ => label,
            };
        }
    }

    // Equality by effective values: a spec whose AlphaUp was left to default equals one that spells it out.
    public bool Equals(ModelSpec? other) =>
        other is not null && Alpha == other.Alpha && AlphaUp == other.AlphaUp && InputSize == other.InputSize && Upsampling == other.Upsampling
        && architecture == other.architecture;

    public override int GetHashCode() => HashCode.Combine(Alpha, AlphaUp, InputSize, Upsampling, architecture);

    public override string ToString() => architecture is not null
        ? FormattableString.Invariant($"ModelSpec(architecture={architecture}, size={InputSize})")
        : FormattableString.Invariant($"ModelSpec(alpha={Alpha}, alpha_up={AlphaUp}, size={InputSize}, upsampling={Upsampling})");

    /// <summary>An ONNX-only network of another architecture at square input <paramref name="inputSize"/>.</summary>
    public static ModelSpec Foreign(string architecture, int inputSize) => new(1, inputSize) { Architecture = architecture };

    // A tiny epsilon keeps floor(n * alpha) exact when alpha is a decimal like 0.3 that binary cannot hold;
    // the floor to at least one channel keeps very small alphas buildable (Keras would make a 0-channel layer).
    static int Scale(int n, double multiplier) => Math.Max(1, (int)Math.Floor(n * multiplier + 1e-9));

    static double CheckAlpha(double value, string name) =>
        double.IsFinite(value) && value > 0 && value <= 1
            ? value
            : throw new ArgumentOutOfRangeException(name, $"{name} must be in (0, 1], got {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");

    // The name becomes part of labels and file names: keep it to a short token.
    static string? CheckArchitecture(string? value) =>
        value is null || (value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            ? value
            : throw new ArgumentException($"Architecture name '{value}' must be 1-64 letters, digits, '-', '_' or '.'.", nameof(Architecture));

    static int CheckSize(int value) =>
        InputSizeError(value) is { } error ? throw new ArgumentOutOfRangeException(nameof(InputSize), error) : value;

    /// <summary>Why <paramref name="size"/> cannot be an input size, or null when it can (or is not given): for up-front option checks.</summary>
    public static string? InputSizeError(int? size, string what = "Input size") =>
        size is { } v && !(v >= 32 && v % 32 == 0 && v <= Platform.Limits.MaxInputSize)
            ? FormattableString.Invariant($"{what} must be a multiple of 32 from 32 to {Platform.Limits.MaxInputSize} (the encoder halves it five times), got {v}.")
            : null;
}
