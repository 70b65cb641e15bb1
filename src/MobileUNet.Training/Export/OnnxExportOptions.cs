using System.Text.Json.Serialization;
using MobileUNet.Data;

namespace MobileUNet.Export;

/// <summary>How the graph spells the decoder's 2x2 stride-2 transposed convolution (same numbers either way).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TransposedConvForm>))]
public enum TransposedConvForm
{
    /// <summary>One ConvTranspose node: the literal form.</summary>
    ConvTranspose,
    /// <summary>A 1x1 Conv to 4 x Cout channels, then DepthToSpace: convolutions ONNX Runtime runs in its blocked layout and in int8.</summary>
    ConvDepthToSpace,
}

/// <summary>How to export: part, precision, what a consumer needs to pre- and post-process (normalisation, threshold).</summary>
public sealed record OnnxExportOptions
{
    public OnnxPart Part { get; init; } = OnnxPart.Full;
    public OnnxPrecision Precision { get; init; } = OnnxPrecision.Fp32;

    /// <summary>fp16 only: inputs and outputs in float16 too (otherwise float32 with a Cast at each end).</summary>
    public bool Float16Io { get; init; }

    public Normalization Normalization { get; init; } = Normalization.ImageNet;

    /// <summary>Probability above which a pixel is foreground: recorded for consumers, not applied in the graph.</summary>
    public float Threshold { get; init; } = 0.5f;

    /// <summary>
    /// Null picks the faster form measured for the precision: ConvTranspose for fp32/fp16 (slightly faster in
    /// ONNX Runtime's fp32 path), ConvDepthToSpace for int8 (ORT has no int8 ConvTranspose on CPU: the literal form
    /// leaves four float islands with their Q/DQ pairs).
    /// </summary>
    public TransposedConvForm? TransposedConvForm { get; init; }

    internal TransposedConvForm EffectiveTransposedConvForm => TransposedConvForm ?? DefaultTransposedConvForm(Precision);

    /// <summary>The form an export of <paramref name="precision"/> uses unless told otherwise (see <see cref="TransposedConvForm"/>).</summary>
    public static TransposedConvForm DefaultTransposedConvForm(OnnxPrecision precision) =>
        precision == OnnxPrecision.Int8 ? Export.TransposedConvForm.ConvDepthToSpace : Export.TransposedConvForm.ConvTranspose;

    /// <summary>int8 only: how activation ranges are calibrated.</summary>
    public Int8Calibration? Calibration { get; init; }
}
