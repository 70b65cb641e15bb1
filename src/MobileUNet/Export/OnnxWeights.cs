using System.Runtime.InteropServices;
using Onnx;

namespace MobileUNet.Export;

/// <summary>Load-time checks of an ONNX model's weights.</summary>
internal static class OnnxWeights
{
    /// <summary>
    /// Refuses float32 / float16 initializers that hold NaN or infinity (weights, biases, int8 scales): such a model
    /// runs and gives all-background masks that look like a normal answer. Unparseable bytes are left to ONNX
    /// Runtime, whose error names the problem.
    /// </summary>
    public static void RequireFinite(byte[] model, string source)
    {
        ModelProto proto;
        try { proto = ModelProto.Parser.ParseFrom(model); }
        catch (Google.Protobuf.InvalidProtocolBufferException) { return; }
        if (proto.Graph is null) return;
        foreach (var t in proto.Graph.Initializer)
        {
            bool finite = t.DataType switch
            {
                (int)TensorProto.Types.DataType.Float when t.RawData.Length > 0 => AllFinite(MemoryMarshal.Cast<byte, float>(t.RawData.Span)),
                (int)TensorProto.Types.DataType.Float => t.FloatData.All(float.IsFinite),
                (int)TensorProto.Types.DataType.Float16 when t.RawData.Length > 0 => AllFinite(MemoryMarshal.Cast<byte, Half>(t.RawData.Span)),
                _ => true,
            };
            if (!finite)
                throw new InvalidDataException($"{source}: weight '{t.Name}' holds NaN or infinite values; the model is damaged or came from a diverged run.");
        }
    }

    static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (var v in values) if (!float.IsFinite(v)) return false;
        return true;
    }

    static bool AllFinite(ReadOnlySpan<Half> values)
    {
        foreach (var v in values) if (!Half.IsFinite(v)) return false;
        return true;
    }
}
