using MobileUNet.Model;
using Onnx;

namespace MobileUNet.Export;

static class Int8Quantizer
{
    public static ModelProto Quantize(ModelProto fp32, Int8Calibration calibration, ModelSpec spec) =>
        throw new NotSupportedException("int8 export is not implemented yet.");
}
